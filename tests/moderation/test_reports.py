import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from contributors.models import Contributor, TrustLevel
from donations.models import Image, ImageStatus
from moderation.models import CaseState, ModerationAction, Report, ReportCase, ReporterRecord
from moderation.services import case_dismiss, report_submit, report_weight
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    UserFactory,
    api_token_for,
)

pytestmark = pytest.mark.django_db

REPORTS = "/api/reports/"


def client_from(address: str) -> APIClient:
    """An anonymous visitor writing from `address`."""
    return APIClient(REMOTE_ADDR=address)


def report(client, image, reason="sexual", **extra):
    return client.post(REPORTS, {"image": str(image.pk), "reason": reason, **extra}, format="json")


def token_client(**contributor_fields) -> APIClient:
    contributor = RegisteredContributorFactory(**contributor_fields)
    client = APIClient(REMOTE_ADDR=f"198.51.{contributor.pk % 250}.7")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(contributor.user)}")
    client.contributor = contributor
    return client


@pytest.fixture
def image():
    return ImageFactory(status=ImageStatus.UNLOCKED)


def test_an_anonymous_visitor_reports_and_sees_only_a_thank_you(image):
    response = report(client_from("203.0.113.5"), image, reason="violence", text=" gore ")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "image", "annotation", "reason", "text", "created_at", "detail"}
    assert body["annotation"] is None
    assert body["image"] == str(image.pk)
    assert body["text"] == "gore"
    assert body["detail"].startswith("Thank you")
    case = ReportCase.objects.get()
    assert (case.image_id, case.state, case.score) == (image.pk, CaseState.OPEN, 0.5)
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED


def test_a_reporter_never_learns_who_else_reported_or_the_score(image):
    report(client_from("203.0.113.5"), image)
    second = report(client_from("198.51.100.9"), image).json()

    assert "score" not in second and "weight" not in second and "reporters" not in second
    assert second["detail"] == report(client_from("192.0.2.1"), image).json()["detail"]


def test_reports_reaching_the_hiding_score_hide_the_image_everywhere_at_once(image, settings):
    settings.REPORT_HIDE_SCORE = 3.0
    for number in range(5):  # five newcomers from five networks: 2.5
        assert report(client_from(f"203.0.{number}.5"), image).status_code == 201
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED

    report(client_from("203.0.99.5"), image)

    assert Image.objects.get(pk=image.pk).status == ImageStatus.HIDDEN
    case = ReportCase.objects.get()
    assert case.hidden_at is not None
    stranger = APIClient()
    assert stranger.get(f"/api/images/{image.pk}/").status_code == 404
    assert str(image.pk) not in stranger.get("/api/images/").content.decode()
    assert str(image.pk) not in Client().get("/images/").content.decode()
    assert Client().get(f"/images/{image.pk}/file/small").status_code == 404
    exported = stranger.get("/api/exports/", {"format": "jsonl"})
    assert str(image.pk) not in b"".join(exported.streaming_content).decode()
    hide = ModerationAction.objects.get(kind="hide")
    assert (hide.actor, hide.target_id, hide.before, hide.after) == (
        None,
        str(image.pk),
        {"status": "unlocked"},
        {"status": "hidden"},
    )


def test_one_contributors_repeated_reports_count_once(image):
    visitor = client_from("203.0.113.5")
    first = report(visitor, image)
    again = report(visitor, image, reason="spam")

    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Report.objects.count() == 1
    assert ReportCase.objects.get().score == 0.5


def test_new_identities_from_one_network_add_no_weight(image):
    for host in range(2, 12):  # ten fresh anonymous identities, one /24
        assert report(client_from(f"203.0.113.{host}"), image).status_code == 201

    assert Report.objects.count() == 10
    assert ReportCase.objects.get().score == 0.5
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED


@pytest.mark.parametrize(
    ("level", "weight"),
    [
        (TrustLevel.NEWCOMER, 0.5),
        (TrustLevel.CONTRIBUTOR, 1.0),
        (TrustLevel.TRUSTED, 2.0),
    ],
)
def test_a_new_reporters_weight_is_their_trust_levels(level, weight):
    assert report_weight(ContributorFactory(trust_level=level)) == weight


def test_a_moderators_report_hides_at_once(image, settings):
    client = token_client(trust_level=TrustLevel.MODERATOR)

    report(client, image)

    assert Image.objects.get(pk=image.pk).status == ImageStatus.HIDDEN


@pytest.mark.parametrize(
    ("decided", "upheld", "weight"),
    [
        (0, 0, 1.0),  # the prior: half
        (4, 4, 1.5),  # (4 + 2) / (4 + 4) = 0.75, times 2
        (10, 0, 2 * 2 / 14),
        (96, 96, 2 * 98 / 100),
    ],
)
def test_report_weight_follows_past_accuracy_with_a_prior(decided, upheld, weight):
    reporter = ContributorFactory(trust_level=TrustLevel.CONTRIBUTOR)
    ReporterRecord.objects.create(contributor=reporter, decided=decided, upheld=upheld)

    assert report_weight(reporter) == pytest.approx(weight)


def test_after_a_dismissal_hiding_the_image_again_takes_twice_the_score(image, settings):
    settings.REPORT_HIDE_SCORE = 2.0
    moderator = ModeratorFactory(is_superuser=True)
    for _number in range(2):
        report(token_client(trust_level=TrustLevel.CONTRIBUTOR), image)
    assert Image.objects.get(pk=image.pk).status == ImageStatus.HIDDEN
    case_dismiss(case_id=ReportCase.objects.get().pk, moderator=moderator)
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED

    for _number in range(3):
        report(token_client(trust_level=TrustLevel.CONTRIBUTOR), image)
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED

    report(token_client(trust_level=TrustLevel.CONTRIBUTOR), image)
    assert Image.objects.get(pk=image.pk).status == ImageStatus.HIDDEN


@pytest.mark.parametrize(
    ("status", "make_id"),
    [
        (ImageStatus.PENDING, None),
        (ImageStatus.HIDDEN, None),
        (ImageStatus.REMOVED, None),
        (ImageStatus.REJECTED, None),
        (None, lambda: str(uuid.uuid4())),
        (None, lambda: "not-a-uuid"),
    ],
)
def test_reports_on_what_the_reporter_cannot_see_are_one_404(status, make_id):
    image_id = make_id() if make_id else str(ImageFactory(status=status).pk)

    response = client_from("203.0.113.5").post(
        REPORTS, {"image": image_id, "reason": "spam"}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": "There is no public image with that id.",
    }
    assert not Report.objects.exists() and not ReportCase.objects.exists()


def test_the_donor_cannot_report_their_own_pending_image():
    donor_image = ImageFactory(status=ImageStatus.PENDING)
    donor = client_from("203.0.113.5")
    session = donor.session  # the donor's own browser, which may see the pending image
    session["contributor_id"] = donor_image.donor_id
    session.save()

    assert donor.get(f"/api/images/{donor_image.pk}/").status_code == 200
    assert report(donor, donor_image).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"reason": "rude"}, "reason", "Unknown reason 'rude'"),
        ({"reason": ""}, "reason", "Unknown reason ''"),
        ({}, "reason", "This field is required."),
        ({"reason": "spam", "text": "x" * 501}, "text", "at most 500 characters"),
        ({"reason": "other"}, "detail", "Say what is wrong"),
        ({"reason": "other", "text": "   "}, "detail", "Say what is wrong"),
        ({"reason": "spam", "image": ""}, "image", "may not be blank"),
        ({"reason": "spam", "image": None}, "detail", "Name the image or the annotation"),
    ],
)
def test_malformed_reports_name_the_problem_and_store_nothing(image, payload, field, message):
    body = {"image": str(image.pk), **payload}
    contributors_before = Contributor.objects.count()

    response = client_from("203.0.113.5").post(REPORTS, body, format="json")

    assert response.status_code == 400
    assert message in str(response.json()[field] if field in response.json() else response.json())
    assert not Report.objects.exists() and not ReportCase.objects.exists()
    assert Contributor.objects.count() == contributors_before


def test_an_anonymous_report_without_csrf_is_refused(image):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        REPORTS, {"image": str(image.pk), "reason": "spam"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Report.objects.exists()


def test_reports_are_rate_limited(image, settings, monkeypatch):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "report": {"minute": [2, 2, 2, None]}}
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 2**31)
    visitor = client_from("203.0.113.5")
    others = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(2)]

    assert [report(visitor, target).status_code for target in [image, *others]] == [201, 201, 429]
    assert Report.objects.count() == 2


def test_a_banned_contributor_cannot_report(image):
    from datetime import UTC, datetime

    client = token_client(banned_until=datetime(2999, 1, 1, tzinfo=UTC))

    response = report(client, image)

    assert response.status_code == 403
    assert response.json()["code"] == "banned"
    assert not Report.objects.exists()


def test_two_reports_at_once_share_one_case(image):
    first = ContributorFactory()
    second = ContributorFactory()
    report_submit(reporter=first, image_id=image.pk, reason="spam", network="a")
    report_submit(reporter=second, image_id=image.pk, reason="spam", network="b")

    assert ReportCase.objects.get().reports.count() == 2


def test_a_report_by_a_registered_user_is_theirs(image):
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)

    assert report(client, image).status_code == 201
    assert Report.objects.get().reporter.user == user
