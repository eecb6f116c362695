"""A banned contributor tries every write of the API and the site: each is refused with the ban
message and stores nothing; reading stays open."""

import uuid
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.test import Client
from rest_framework.test import APIClient

from contributors.identity import SESSION_KEY
from donations.models import ImageStatus
from moderation.services import ban_create
from tests.contributors.browser import photo_upload
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
    submitted_annotation,
)

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
UNTIL = datetime(2999, 1, 2, 3, 4, tzinfo=UTC)
WRITTEN = [
    "donations.Image",
    "labels_app.ImageLabel",
    "labels_app.LabelSuggestionUse",
    "labels_app.LabellingVisit",
    "validations.Vote",
    "validations.ValidationSkip",
    "annotations.Annotation",
    "annotations.AnnotationRevision",
    "annotations.AnnotationVote",
    "annotations.Lease",
    "annotations.AnnotationTaskMark",
    "annotations.RefinementAnswer",
    "moderation.Report",
    "contributors.Contributor",
]


def row_counts() -> dict[str, int]:
    return {name: apps.get_model(name).objects.count() for name in WRITTEN}


@pytest.fixture
def site():
    """Something to write about on every endpoint."""
    dog = LabelFactory(name="dog")
    return {
        "image": ImageFactory(status=ImageStatus.UNLOCKED),
        "item": ImageLabelFactory(label=dog),
        "annotation": submitted_annotation(shapes=[RECT]),
        "task": ImageLabelFactory(label=LabelFactory(name="car")),
    }


def api_writes(site) -> list[tuple[str, str, dict]]:
    image, item, annotation = site["image"], site["item"], site["annotation"]
    lease = uuid.uuid4()
    return [
        ("post", f"/api/images/{image.pk}/labels/", {"labels": ["dog"]}),
        ("post", f"/api/images/{image.pk}/labelling-skip/", {}),
        ("post", "/api/votes/", {"image_label": item.pk, "answer": "yes"}),
        ("post", "/api/votes/batch/", {"votes": [{"image_label": item.pk, "answer": "yes"}]}),
        ("post", f"/api/validations/{item.pk}/skip/", {}),
        ("post", "/api/annotations/next/", {}),
        ("post", "/api/annotations/leases/", {"image": str(site["task"].image_id), "label": "car"}),
        ("post", f"/api/annotations/leases/{lease}/renew/", {}),
        ("post", f"/api/annotations/leases/{lease}/passed/", {}),
        ("post", "/api/annotations/", {"lease": str(lease), "shapes": [RECT]}),
        ("put", f"/api/annotations/{annotation.pk}/", {"base_revision": 1, "shapes": [RECT]}),
        (
            "post",
            "/api/annotation-votes/",
            {"annotation": annotation.pk, "revision": 1, "answer": "good"},
        ),
        ("post", "/api/refinements/answers/", {"question": 1, "value": "red"}),
        ("post", "/api/reports/", {"image": str(image.pk), "reason": "spam"}),
    ]


def assert_banned(response) -> None:
    assert response.status_code == 403, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "banned"
    assert "suspended until 2999-01-02 03:04 UTC" in body["detail"]


def test_a_banned_account_is_refused_on_every_api_write_and_nothing_is_stored(site):
    banned = RegisteredContributorFactory(banned_until=UNTIL)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(banned.user)}")
    before = row_counts()

    for method, path, body in api_writes(site):
        assert_banned(getattr(client, method)(path, body, format="json"))
    assert_banned(
        client.post("/api/donations/", {"file": photo_upload(1), "cc0": "true"}, format="multipart")
    )

    assert row_counts() == before
    assert client.get(f"/api/images/{site['image'].pk}/").status_code == 200


def test_a_banned_anonymous_visitor_is_refused_on_every_page_write_and_nothing_is_stored(site):
    banned = ContributorFactory(banned_until=UNTIL)
    client = Client()
    session = client.session
    session[SESSION_KEY] = banned.pk
    session.save()
    image, item, annotation = site["image"], site["item"], site["annotation"]
    before = row_counts()

    pages = [
        ("/label/", {"image": str(image.pk), "labels": "dog"}),
        ("/validate/", {"image_label": item.pk, "answer": "yes"}),
        ("/validate/grid/?label=dog", {"label": "dog", "image_label": [item.pk]}),
        ("/annotate/review/", {"annotation": annotation.pk, "revision": 1, "answer": "good"}),
        ("/report/", {"image": str(image.pk), "reason": "spam"}),
        ("/annotate/quiz/", {"question": 1, "value": "red"}),
        ("/donate/", {"files": photo_upload(2), "cc0": "on"}),
    ]
    for path, data in pages:
        response = client.post(path, data, follow=True)
        assert "suspended until 2999-01-02 03:04 UTC" in response.content.decode(), path

    assert row_counts() == before
    assert client.get("/images/").status_code == 200


def test_a_ban_made_by_a_moderator_refuses_the_same_writes(site):
    account = RegisteredContributorFactory()
    ban_create(contributor=account, until=UNTIL, reason="x", moderator=_banning_moderator())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(account.user)}")

    for method, path, body in api_writes(site)[:3]:
        assert_banned(getattr(client, method)(path, body, format="json"))


def _banning_moderator():
    return ModeratorFactory(moderation=["add_ban"])
