import json
import os
import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from contributors.models import Contributor, TrustLevel
from labels_app.models import ImageLabel
from tests.factories import (
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    UserFactory,
    VoterFactory,
    api_token_for,
)
from tests.served import serve
from tests.servers import server_processes
from validations.models import Vote

pytestmark = pytest.mark.django_db

LOGINS_PER_DAY = 6
LIMITS = {
    "vote": {"minute": [2, 3, 4, None], "day": [100, 100, 100, None]},
    "label": {"minute": [1, 1, 1, None], "day": [100, 100, 100, None]},
    "donation": {"minute": [1, 1, 1, None], "day": [100, 100, 100, None]},
    "signup": {"minute": [2, 2, 2, 2], "day": [20, 20, 20, 20]},
    "login": {"minute": [2, 2, 2, 2], "day": [20, 20, 20, 20]},
    "login_failure": {"hour": [3, 3, 3, 3], "day": [100, 100, 100, 100]},
    "task": {"minute": [3, 3, 3, None], "day": [100, 100, 100, None]},
    "new_identity": {"minute": [4, 4, 4, 4], "day": [100, 100, 100, 100]},
}


@pytest.fixture(autouse=True)
def small_limits(settings, monkeypatch):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **LIMITS}
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 10
    # Counters live in fixed time windows; pin the window so a slow run that crosses a
    # minute boundary cannot reset a counter halfway through a test.
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 2**31)


def voter_client(api_client_factory, **voter_fields):
    voter_fields.setdefault("trust_level", TrustLevel.NEWCOMER)  # the strictest limits
    voter = VoterFactory(user=UserFactory(), **voter_fields)
    client = api_client_factory()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(voter.user)}")
    client.voter = voter
    return client


@pytest.fixture
def make_client():
    from rest_framework.test import APIClient

    return APIClient


def vote(client, image_label, **extra):
    serve(client.voter, image_label)
    return client.post(
        "/api/votes/", {"image_label": image_label.pk, "answer": "yes"}, format="json", **extra
    )


def test_votes_over_the_limit_get_a_429_with_retry_after_and_nothing_stored(make_client):
    client = voter_client(make_client)
    items = [ImageLabelFactory() for _ in range(3)]

    statuses = [vote(client, item).status_code for item in items]
    refused = vote(client, ImageLabelFactory())

    assert statuses == [201, 201, 429]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert "at most 2 in a minute" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert Vote.objects.count() == 2


def test_trusted_voters_get_higher_limits(make_client):
    client = voter_client(make_client, trust_level=TrustLevel.TRUSTED)

    statuses = [vote(client, ImageLabelFactory()).status_code for _ in range(5)]

    assert statuses == [201, 201, 201, 201, 429]


def test_moderators_are_not_limited(make_client):
    client = voter_client(make_client, trust_level=TrustLevel.MODERATOR)

    statuses = {vote(client, ImageLabelFactory()).status_code for _ in range(6)}

    assert statuses == {201}


def test_a_network_limit_covers_everyone_behind_one_address(make_client, settings):
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    first, second = voter_client(make_client), voter_client(make_client)

    assert [vote(first, ImageLabelFactory()).status_code for _ in range(2)] == [201, 201]
    refused = vote(second, ImageLabelFactory())

    assert refused.status_code == 429
    assert "from your network" in refused.json()["detail"]


def test_ipv6_addresses_in_one_64_network_share_a_limit(make_client, settings):
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    clients = [voter_client(make_client) for _ in range(3)]

    same_64 = [
        vote(clients[0], ImageLabelFactory(), REMOTE_ADDR="2001:db8:1:2::1").status_code,
        vote(clients[1], ImageLabelFactory(), REMOTE_ADDR="2001:db8:1:2:ffff::9").status_code,
        vote(clients[1], ImageLabelFactory(), REMOTE_ADDR="2001:db8:1:2::7").status_code,
    ]
    other_64 = vote(clients[2], ImageLabelFactory(), REMOTE_ADDR="2001:db8:1:3::1").status_code

    assert same_64 == [201, 201, 429]
    assert other_64 == 201


def test_labelling_page_shows_a_friendly_429_page(client):
    LabelFactory(name="dog")
    images = [ImageFactory(status="unlocked") for _ in range(2)]

    client.post("/label/", {"image": str(images[0].pk), "labels": "dog"})
    response = client.post("/label/", {"image": str(images[1].pk), "labels": "dog"})

    assert response.status_code == 429
    assert "Too many label requests from you" in response.content.decode()
    assert response["Retry-After"]
    assert ImageLabel.objects.count() == 1


def test_login_attempts_are_limited_per_network_at_the_configured_number(client):
    UserFactory(username="alice")

    statuses = [
        client.post(
            "/accounts/login/", {"username": f"user{attempt}", "password": "wrong"}
        ).status_code
        for attempt in range(3)
    ]

    # The network multiplier (10 here) applies to personal limits only, not to these.
    assert statuses == [200, 200, 429]


def test_signups_are_limited_per_network_at_the_configured_number(client):
    statuses = [
        client.post(
            "/accounts/signup/",
            {"username": f"new{attempt}", "password1": "x", "password2": "y"},
        ).status_code
        for attempt in range(3)
    ]

    assert statuses == [200, 200, 429]


def test_failed_logins_are_limited_per_account_name_from_any_network(client):
    UserFactory(username="alice", password="right password 42")

    def log_in(password, address, username="alice"):
        return client.post(
            "/accounts/login/",
            {"username": username, "password": password},
            REMOTE_ADDR=address,
        )

    # A slow guesser spreads attempts over many networks; the account name still counts them.
    failures = [log_in("wrong", f"10.0.{n}.1").status_code for n in range(4)]
    right_password = log_in("right password 42", "10.0.9.1")
    other_account = log_in("wrong", "10.0.10.1", username="bob")

    assert failures == [200, 200, 200, 429]
    assert right_password.status_code == 429
    assert "Too many failed log-ins for this account" in right_password.content.decode()
    assert "_auth_user_id" not in client.session
    assert other_account.status_code == 200


def test_a_password_reset_lifts_the_failed_login_limit_of_the_account(client):
    user = UserFactory(username="alice", email="alice@example.org")
    for n in range(4):
        client.post(
            "/accounts/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR=f"10.1.{n}.1"
        )
    assert (
        client.post("/accounts/login/", {"username": "alice", "password": "x"}).status_code == 429
    )

    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form = client.get(link.group(1), follow=True)
    new_password = "a brand new passphrase 42"
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": new_password}, REMOTE_ADDR="10.2.0.1"
    )

    assert response.status_code == 302


def test_a_successful_login_is_not_counted_as_a_failure(client):
    UserFactory(username="alice", password="right password 42")

    for n in range(4):
        response = client.post(
            "/accounts/login/",
            {"username": "alice", "password": "right password 42"},
            REMOTE_ADDR=f"10.0.{n}.1",
        )
        assert response.status_code == 302
        client.logout()


def test_clients_that_drop_their_cookies_cannot_mint_identities_without_bound(make_client):
    """Skipping is a write that creates a contributor; a client without cookies gets a new one
    each time, so creating identities is counted per network whatever the endpoint."""
    item = ImageLabelFactory()
    before = Contributor.objects.count()

    def skip_as_new_visitor(address):
        return (
            make_client().post(f"/api/validations/{item.pk}/skip/", REMOTE_ADDR=address).status_code
        )

    minted = [skip_as_new_visitor("203.0.113.7") for _ in range(5)]
    elsewhere = skip_as_new_visitor("198.51.100.1")

    assert minted == [204, 204, 204, 204, 429]
    assert elsewhere == 204
    assert Contributor.objects.count() == before + 5


def test_skipping_tasks_is_rate_limited_like_any_write(make_client):
    client = voter_client(make_client)
    items = [ImageLabelFactory() for _ in range(4)]

    statuses = [client.post(f"/api/validations/{item.pk}/skip/").status_code for item in items]

    assert statuses == [204, 204, 204, 429]


def test_first_time_visitors_are_limited_by_their_own_network_only(make_client):
    """One abusive visitor without cookies exhausts their network's donations; newcomers on
    other networks are not affected (there is no bucket shared by every first-time visitor)."""
    junk = b"not an image at all"

    def donate_as_first_time_visitor(address):
        client = make_client()  # no session: a first-time visitor each time
        upload = SimpleUploadedFile("junk.jpg", junk, content_type="image/jpeg")
        return client.post(
            "/api/donations/", {"file": upload, "cc0": "true"}, REMOTE_ADDR=address
        ).status_code

    abusive = [donate_as_first_time_visitor("203.0.113.7") for _ in range(11)]
    newcomers = [donate_as_first_time_visitor(f"198.51.100.{n}") for n in range(1, 6)]

    # The donation limit is 1 a minute per visitor, 10 per network (multiplier 10).
    assert abusive[:10] == [415] * 10
    assert abusive[10] == 429
    assert newcomers == [415] * 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
    reason="needs REDIS_URL and a PostgreSQL DATABASE_URL: two server processes share rate "
    "counters through Redis and rows through the database",
)
def test_login_limit_holds_across_two_server_processes():
    """Requests alternate between two server processes; the shared limit stops them together."""
    limits = {"login": {"day": [LOGINS_PER_DAY] * 4}}
    # A daily window only, so the run cannot straddle a window boundary.
    with server_processes(
        2,
        RATELIMIT_ENABLE="true",
        RATE_LIMIT_NETWORK_MULTIPLIER="1",
        RATE_LIMITS=json.dumps(limits),
    ) as ports:
        allowed = LOGINS_PER_DAY
        statuses = [_failed_login(ports[attempt % 2]) for attempt in range(allowed + 4)]
    assert statuses[:allowed] == [200] * allowed
    assert set(statuses[allowed:]) == {429}


def _failed_login(port: int) -> int:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/",
        data=body,
        headers={"Referer": f"http://127.0.0.1:{port}/accounts/login/"},
    )
    try:
        return opener.open(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code
