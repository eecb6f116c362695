from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from contributors.models import BANNED_FOR_GOOD, Contributor, TrustLevel
from core.errors import DomainError
from donations.models import ImageStatus
from moderation.models import Ban, ModerationAction, Report
from moderation.services import ban_create, ban_lift
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return ModeratorFactory(moderation=["add_ban"])


@pytest.fixture
def image():
    return ImageFactory(status=ImageStatus.UNLOCKED)


def report(client, image):
    return client.post("/api/reports/", {"image": str(image.pk), "reason": "spam"}, format="json")


def anonymous_writer(address: str, image) -> APIClient:
    """A visitor who already wrote once from `address` (so has an anonymous identity)."""
    client = APIClient(REMOTE_ADDR=address)
    assert report(client, image).status_code == 201
    return client


def test_a_banned_contributor_gets_the_end_date_on_every_write_and_can_still_read(moderator, image):
    writer = anonymous_writer("203.0.113.5", image)
    contributor = Report.objects.get().reporter
    until = timezone.now() + timedelta(days=3)

    ban_create(contributor=contributor, until=until, reason="Spam reports", moderator=moderator)

    other = ImageFactory(status=ImageStatus.UNLOCKED)
    response = report(writer, other)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "banned"
    assert f"until {until:%Y-%m-%d %H:%M} UTC" in body["detail"]
    assert datetime.fromisoformat(body["banned_until"].replace("Z", "+00:00")) == until
    assert writer.get(f"/api/images/{other.pk}/").status_code == 200
    assert writer.get("/images/").status_code == 200


def test_a_ban_for_good_says_so(moderator, image):
    contributor = RegisteredContributorFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(contributor.user)}")

    ban_create(contributor=contributor, until=None, reason="Vandal", moderator=moderator)

    body = report(client, image).json()
    assert "suspended for good" in body["detail"]
    assert body["banned_until"] is None
    assert Contributor.objects.get(pk=contributor.pk).banned_until == BANNED_FOR_GOOD


def test_lifting_one_of_two_bans_keeps_the_other(moderator):
    contributor = ContributorFactory()
    short = ban_create(
        contributor=contributor,
        until=timezone.now() + timedelta(days=1),
        reason="first",
        moderator=moderator,
    )
    long_end = timezone.now() + timedelta(days=9)
    ban_create(contributor=contributor, until=long_end, reason="second", moderator=moderator)

    ban_lift(ban_id=short.pk, moderator=moderator)
    assert Contributor.objects.get(pk=contributor.pk).banned_until == long_end

    ban_lift(ban_id=Ban.objects.active().get().pk, moderator=moderator)
    assert Contributor.objects.get(pk=contributor.pk).banned_until is None
    kinds = list(ModerationAction.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["ban", "ban", "lift", "lift"]


def test_a_lifted_ban_cannot_be_lifted_again(moderator):
    ban = ban_create(contributor=ContributorFactory(), until=None, reason="x", moderator=moderator)
    ban_lift(ban_id=ban.pk, moderator=moderator)

    with pytest.raises(DomainError) as refused:
        ban_lift(ban_id=ban.pk, moderator=moderator)

    assert refused.value.code == "not_active"


def test_new_and_existing_anonymous_identities_from_a_banned_network_cannot_write(moderator, image):
    existing = anonymous_writer("203.0.113.5", image)
    contributors_before = Contributor.objects.count()

    ban_create(
        contributor=None,
        network="203.0.113.0/24",
        until=None,
        reason="Bot farm",
        moderator=moderator,
    )

    other = ImageFactory(status=ImageStatus.UNLOCKED)
    contributors_before += 1  # the other image's donor
    fresh = APIClient(REMOTE_ADDR="203.0.113.77")
    for client in (existing, fresh):
        response = report(client, other)
        assert response.status_code == 403
        assert "from your network are suspended for good" in response.json()["detail"]
    assert Contributor.objects.count() == contributors_before
    assert Report.objects.count() == 1
    # Elsewhere, and for accounts in good standing on that network, writes go on.
    assert report(APIClient(REMOTE_ADDR="198.51.100.5"), other).status_code == 201
    account = RegisteredContributorFactory()
    member = APIClient(REMOTE_ADDR="203.0.113.9")
    member.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(account.user)}")
    assert report(member, other).status_code == 201


def test_an_ipv6_ban_covers_the_whole_64(moderator, image):
    ban_create(
        contributor=None, network="2001:db8:1:2::/64", until=None, reason="x", moderator=moderator
    )

    assert report(APIClient(REMOTE_ADDR="2001:db8:1:2:aaaa::1"), image).status_code == 403
    assert report(APIClient(REMOTE_ADDR="2001:db8:1:3::1"), image).status_code == 201


def test_a_network_ban_ends_when_lifted(moderator, image):
    ban = ban_create(
        contributor=None, network="203.0.113.5", until=None, reason="x", moderator=moderator
    )
    assert report(APIClient(REMOTE_ADDR="203.0.113.5"), image).status_code == 403

    ban_lift(ban_id=ban.pk, moderator=moderator)

    assert report(APIClient(REMOTE_ADDR="203.0.113.5"), image).status_code == 201


def test_a_network_ban_that_ran_out_no_longer_refuses(moderator, image):
    ban = ban_create(
        contributor=None,
        network="203.0.113.5/32",
        until=timezone.now() + timedelta(hours=1),
        reason="x",
        moderator=moderator,
    )
    Ban.objects.filter(pk=ban.pk).update(until=timezone.now() - timedelta(seconds=1))
    from django.core.cache import cache

    cache.clear()

    assert report(APIClient(REMOTE_ADDR="203.0.113.5"), image).status_code == 201


def test_a_ban_follows_the_person_when_they_log_in(moderator, image, client):
    from contributors.models import Contributor as C
    from tests.factories import UserFactory

    anonymous = anonymous_writer("203.0.113.5", image)
    contributor = Report.objects.get().reporter
    ban_create(contributor=contributor, until=None, reason="x", moderator=moderator)
    user = UserFactory()
    account = C.objects.create(user=user)

    from contributors.services import contributor_merge

    contributor.refresh_from_db()  # as a log-in reads it
    contributor_merge(source=contributor, target=account)

    assert C.objects.get(pk=account.pk).is_banned
    assert report(anonymous, ImageFactory(status=ImageStatus.UNLOCKED)).status_code == 403


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"reason": "  "}, "reason_required"),
        ({"contributor": None}, "nobody_named"),
        ({"until": datetime(2000, 1, 1, tzinfo=UTC)}, "invalid_until"),
        ({"contributor": None, "network": "10.0.0.0/16"}, "invalid_network"),
        ({"contributor": None, "network": "not a network"}, "invalid_network"),
        ({"contributor": None, "network": "2001:db8::/48"}, "invalid_network"),
    ],
)
def test_bans_that_break_a_rule_are_refused_and_nothing_is_stored(moderator, fields, code):
    values = {"contributor": ContributorFactory(), "until": None, "reason": "x", "network": ""}

    with pytest.raises(DomainError) as refused:
        ban_create(moderator=moderator, **(values | fields))

    assert refused.value.code == code
    assert not Ban.objects.exists() and not ModerationAction.objects.exists()


def test_a_moderator_cannot_be_banned(moderator):
    with pytest.raises(DomainError) as refused:
        ban_create(
            contributor=ContributorFactory(trust_level=TrustLevel.MODERATOR),
            until=None,
            reason="x",
            moderator=moderator,
        )
    assert refused.value.code == "cannot_ban_moderator"


def test_staff_without_the_permission_cannot_ban():
    with pytest.raises(DomainError) as refused:
        ban_create(
            contributor=ContributorFactory(), until=None, reason="x", moderator=ModeratorFactory()
        )
    assert refused.value.code == "permission_denied"
