import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from contributors.models import ApiToken, Contributor
from donations.models import Image
from tests.factories import RegisteredContributorFactory, UserFactory, api_token_for

from .browser import donate, photo_upload, post_form

pytestmark = pytest.mark.django_db

NEW_KEY = re.compile(r'<code class="token-key" id="new-token-key">([^<]+)</code>')
INVALID_TOKEN = {"code": "authentication_failed", "detail": "Invalid or revoked API token."}


def me(authorization: str | None = None):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return APIClient().get("/api/me/", **extra)


def token_of(key: str) -> ApiToken:
    return ApiToken.objects.get(digest=hashlib.sha256(key.encode()).hexdigest())


def test_new_token_key_is_shown_once_and_only_its_digest_is_stored(logged_in):
    response = post_form(logged_in, "/accounts/profile/", {"name": "  bulk upload script  "})

    # Post, redirect, get: reloading the page cannot create a second token.
    assert response.status_code == 302
    assert response.url == "/accounts/profile/"
    first_view = logged_in.get("/accounts/profile/").content.decode()
    key = NEW_KEY.search(first_view).group(1)
    token = ApiToken.objects.get()
    assert token.user == logged_in.contributor.user
    assert token.name == "bulk upload script"
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    assert len(token.prefix) == 8
    stored_values = ApiToken.objects.filter(pk=token.pk).values().get().values()
    assert not any(key in str(value) for value in stored_values)
    assert "new_api_token" not in logged_in.session

    second_view = logged_in.get("/accounts/profile/").content.decode()

    assert key not in second_view
    assert NEW_KEY.search(second_view) is None
    assert f"<code>{token.prefix}…</code>" in second_view
    assert me(f"Token {key}").json()["username"] == token.user.username


def test_each_of_several_tokens_authenticates_as_its_owner(registered_contributor):
    user = registered_contributor.user
    keys = [api_token_for(user) for _ in range(3)]

    for key in keys:
        response = me(f"Token {key}")
        assert response.status_code == 200
        assert response.json()["username"] == user.username
        assert response.json()["id"] == registered_contributor.pk
    assert ApiToken.objects.filter(user=user, last_used_at__isnull=False).count() == 3


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "token", "bearer"])
def test_token_authenticates_with_token_or_bearer_keyword(registered_contributor, keyword):
    key = api_token_for(registered_contributor.user)

    response = me(f"{keyword} {key}")

    assert response.status_code == 200
    assert response.json()["username"] == registered_contributor.user.username


def test_tokens_of_different_users_authenticate_as_their_own_owner():
    alice, bob = RegisteredContributorFactory(), RegisteredContributorFactory()

    assert me(f"Token {api_token_for(alice.user)}").json()["username"] == alice.user.username
    assert me(f"Token {api_token_for(bob.user)}").json()["username"] == bob.user.username


def test_revoked_token_is_refused_and_other_tokens_keep_working(logged_in):
    user = logged_in.contributor.user
    revoked_key, kept_key = api_token_for(user), api_token_for(user)
    token = token_of(revoked_key)

    response = post_form(logged_in, f"/accounts/profile/tokens/{token.pk}/revoke/", {})

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"
    page = logged_in.get("/accounts/profile/").content.decode()
    assert "The token was revoked; requests using it are now refused." in page
    refused = me(f"Token {revoked_key}")
    assert refused.status_code == 401
    assert refused.json() == INVALID_TOKEN
    assert refused.headers["WWW-Authenticate"] == "Token"
    assert me(f"Bearer {revoked_key}").json() == INVALID_TOKEN
    assert me(f"Token {kept_key}").status_code == 200


def test_revoking_a_token_twice_keeps_the_first_revocation_time(logged_in):
    token = token_of(api_token_for(logged_in.contributor.user))
    post_form(logged_in, f"/accounts/profile/tokens/{token.pk}/revoke/", {})
    token.refresh_from_db()
    first_revoked_at = token.revoked_at

    post_form(logged_in, f"/accounts/profile/tokens/{token.pk}/revoke/", {})

    page = logged_in.get("/accounts/profile/").content.decode()
    assert "No active token of yours has that id." in page
    token.refresh_from_db()
    assert token.revoked_at == first_revoked_at


def test_revoking_another_users_token_id_leaves_it_working(logged_in):
    other = RegisteredContributorFactory()
    other_key = api_token_for(other.user)
    token = token_of(other_key)

    response = post_form(logged_in, f"/accounts/profile/tokens/{token.pk}/revoke/", {})

    assert response.status_code == 302
    page = logged_in.get("/accounts/profile/").content.decode()
    assert "No active token of yours has that id." in page
    token.refresh_from_db()
    assert token.revoked_at is None
    assert me(f"Token {other_key}").status_code == 200


def test_revoke_refuses_get_and_anonymous_visitors(registered_contributor):
    key = api_token_for(registered_contributor.user)
    token = token_of(key)
    owner = Client()
    owner.force_login(registered_contributor.user)

    assert owner.get(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 405
    anonymous = Client().post(f"/accounts/profile/tokens/{token.pk}/revoke/")

    assert anonymous.status_code == 302
    assert anonymous.url.startswith("/accounts/login/")
    token.refresh_from_db()
    assert token.revoked_at is None
    assert me(f"Token {key}").status_code == 200


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the token a name so you can recognise it later."),
        ("   ", "Give the token a name so you can recognise it later."),
        ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
    ],
    ids=["empty", "whitespace", "too-long"],
)
def test_token_with_bad_name_is_refused_and_nothing_stored(logged_in, name, message):
    response = post_form(logged_in, "/accounts/profile/", {"name": name})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()
    assert "new_api_token" not in logged_in.session


def test_anonymous_profile_visit_redirects_to_log_in():
    response = Client().get("/accounts/profile/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/profile/"


def test_anonymous_token_creation_is_redirected_and_nothing_stored():
    response = Client().post("/accounts/profile/", {"name": "sneaky"})

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert not ApiToken.objects.exists()


def test_me_without_credentials_is_refused():
    response = me()

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


def test_me_for_an_anonymous_donor_is_refused(visitor):
    donate(visitor, seed=1)

    response = visitor.get("/api/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Token", "Malformed Authorization header: expected 'Token <key>'."),
        ("Token two parts", "Malformed Authorization header: expected 'Token <key>'."),
        ("Token not-a-real-key", "Invalid or revoked API token."),
    ],
    ids=["no-key", "extra-part", "unknown-key"],
)
def test_me_with_bad_token_header_is_refused(registered_contributor, authorization, detail):
    api_token_for(registered_contributor.user)

    response = me(authorization)

    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": detail}


def test_token_of_a_deactivated_user_is_refused(registered_contributor):
    key = api_token_for(registered_contributor.user)
    registered_contributor.user.is_active = False
    registered_contributor.user.save(update_fields=["is_active"])

    response = me(f"Token {key}")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_me_with_a_session_returns_the_logged_in_user(logged_in):
    response = logged_in.get("/api/me/")

    assert response.status_code == 200
    assert response.json()["username"] == logged_in.contributor.user.username


def test_donation_with_token_needs_no_csrf_and_is_recorded_under_the_owner(
    registered_contributor, script_client
):
    key = api_token_for(registered_contributor.user)

    response = script_client.post(
        "/api/donations/",
        {"file": photo_upload(1), "cc0": "true"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 201, response.content
    assert Image.objects.get(pk=response.json()["id"]).donor == registered_contributor
    assert Contributor.objects.get() == registered_contributor


def test_first_donation_with_token_gives_the_user_a_contributor(script_client):
    user = UserFactory()
    key = api_token_for(user)

    response = script_client.post(
        "/api/donations/",
        {"file": photo_upload(1), "cc0": "true"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 201, response.content
    contributor = Contributor.objects.get()
    assert contributor.user == user
    assert Image.objects.get().donor == contributor


def test_donation_with_revoked_token_is_refused_and_nothing_stored(
    registered_contributor, script_client, stored_files
):
    key = api_token_for(registered_contributor.user)
    ApiToken.objects.filter(pk=token_of(key).pk).update(revoked_at=timezone.now())

    response = script_client.post(
        "/api/donations/",
        {"file": photo_upload(1), "cc0": "true"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert not Image.objects.exists()
    assert stored_files() == []


def test_banned_contributor_donating_with_token_is_refused_and_nothing_stored(
    script_client, stored_files
):
    banned = RegisteredContributorFactory(banned_until=datetime(2999, 1, 2, 3, 4, tzinfo=UTC))
    key = api_token_for(banned.user)

    response = script_client.post(
        "/api/donations/",
        {"file": photo_upload(1), "cc0": "true"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 403
    assert response.json() == {
        "code": "banned",
        "detail": "This account is suspended until 2999-01-02 03:04 UTC; you can still look "
        "around, but not contribute.",
        "banned_until": "2999-01-02T03:04:00Z",
    }
    assert not Image.objects.exists()
    assert stored_files() == []


def test_banned_anonymous_visitor_is_refused_on_the_api_and_nothing_stored(visitor, stored_files):
    donate(visitor, seed=1)
    files_before = stored_files()
    Contributor.objects.update(banned_until=datetime(2999, 1, 2, 3, 4, tzinfo=UTC))

    response = donate(visitor, seed=2)

    assert response.status_code == 403
    assert response.json() == {
        "code": "banned",
        "detail": "This account is suspended until 2999-01-02 03:04 UTC; you can still look "
        "around, but not contribute.",
        "banned_until": "2999-01-02T03:04:00Z",
    }
    assert Image.objects.count() == 1
    assert stored_files() == files_before


def test_banned_visitor_using_the_donate_page_sees_the_ban_and_nothing_is_stored(
    visitor, stored_files
):
    donate(visitor, seed=1)
    files_before = stored_files()
    Contributor.objects.update(banned_until=datetime(2999, 1, 2, 3, 4, tzinfo=UTC))

    response = post_form(visitor, "/donate/", {"files": photo_upload(3), "cc0": "on"})

    # The page reports per file, so the refusal is in the results of a 200 page.
    assert response.status_code == 200
    assert "This account is suspended until 2999-01-02 03:04 UTC;" in response.content.decode()
    assert Image.objects.count() == 1
    assert stored_files() == files_before


def test_contributor_whose_ban_has_ended_can_donate_again(script_client):
    contributor = RegisteredContributorFactory(banned_until=timezone.now() - timedelta(minutes=1))
    key = api_token_for(contributor.user)

    response = script_client.post(
        "/api/donations/",
        {"file": photo_upload(1), "cc0": "true"},
        format="multipart",
        HTTP_AUTHORIZATION=f"Token {key}",
    )

    assert response.status_code == 201
    assert Image.objects.get().donor == contributor
