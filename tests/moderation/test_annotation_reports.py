"""Reports on outlines: hidden at the threshold from the image page, the tasks, the API and the
exports; back on dismissal; hidden for good on removal."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from annotations.models import Annotation, RefinementQuestion
from annotations.services import annotation_revise
from contributors.models import Contributor, TrustLevel
from core.errors import DomainError
from moderation.models import ModerationAction, Report, ReportCase
from moderation.services import case_dismiss, case_remove, report_submit
from tests.factories import (
    ContributorFactory,
    LabelFactory,
    ModeratorFactory,
    RefinementFactory,
    submitted_annotation,
)

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}


@pytest.fixture
def moderator():
    return ModeratorFactory(moderation=["decide_reportcase", "add_ban"])


@pytest.fixture
def outline():
    RefinementFactory(name="colour", values=["red", "blue"], applies_to=["*"])
    return submitted_annotation(label=LabelFactory(name="car"), shapes=[RECT])


def hide(annotation, settings):
    settings.REPORT_HIDE_SCORE = 1.0
    report_submit(
        reporter=ContributorFactory(trust_level=TrustLevel.CONTRIBUTOR),
        annotation_id=annotation.pk,
        reason="wrong_content",
        network="n",
    )
    return ReportCase.objects.get(annotation=annotation)


def exported(**params) -> list[dict]:
    response = APIClient().get("/api/exports/", {"format": "jsonl", **params})
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def is_shown(annotation) -> dict[str, bool]:
    image_id = annotation.image_label.image_id
    client = APIClient()
    records = exported(query="car")
    return {
        "api_list": any(
            a["id"] == annotation.pk for a in client.get("/api/annotations/").json()["results"]
        ),
        "api_detail": client.get(f"/api/annotations/{annotation.pk}/").status_code == 200,
        "image_page": f'data-annotation="{annotation.pk}"'
        in Client().get(f"/images/{image_id}/").content.decode(),
        "review_queue": Annotation.objects.get(pk=annotation.pk).in_review,
        "quiz": RefinementQuestion.objects.filter(annotation=annotation, in_queue=True).exists(),
        "export": any(record["annotations"] for record in records),
        "outlined_export": bool(exported(query="car", annotations_only="true")),
    }


def test_an_outline_reported_past_the_threshold_is_hidden_everywhere_and_comes_back_on_dismissal(
    outline, settings, moderator
):
    assert all(is_shown(outline).values()), is_shown(outline)

    case = hide(outline, settings)

    assert case.hidden_at is not None
    assert not any(is_shown(outline).values()), is_shown(outline)
    assert exported(query="car")[0]["labels"]  # the confirmed label itself stays
    assert ModerationAction.objects.get(kind="hide").target_type == "annotations.annotation"

    case_dismiss(case_id=case.pk, moderator=moderator)

    assert all(is_shown(outline).values()), is_shown(outline)


def test_a_removed_outline_stays_hidden_and_its_author_can_be_banned(outline, settings, moderator):
    case = hide(outline, settings)

    case_remove(case_id=case.pk, moderator=moderator, ban_donor=True)

    assert Annotation.objects.get(pk=outline.pk).hidden
    assert Contributor.objects.get(pk=outline.author_id).is_banned_for_good
    assert ModerationAction.objects.get(kind="remove").target_id == str(outline.pk)


def test_a_hidden_outline_cannot_be_redrawn_or_reviewed(outline, settings):
    hide(outline, settings)

    with pytest.raises(DomainError) as refused:
        annotation_revise(
            contributor=ContributorFactory(),
            annotation_id=outline.pk,
            base_revision=1,
            shapes=[RECT],
        )
    assert refused.value.status == 404


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"annotation": 999999}, 404, "There is no visible annotation with that id."),
        ({}, 400, "Name the image or the annotation you report (one of them)."),
        ({"annotation": "x"}, 400, "A valid integer is required."),
    ],
)
def test_bad_annotation_reports_are_refused_and_store_nothing(outline, body, status, message):
    response = APIClient().post("/api/reports/", {"reason": "spam", **body}, format="json")

    assert response.status_code == status
    assert message in json.dumps(response.json())
    assert not Report.objects.exists()


def test_naming_both_an_image_and_an_annotation_is_refused(outline):
    body = {"reason": "spam", "annotation": outline.pk, "image": str(outline.image_label.image_id)}

    response = APIClient().post("/api/reports/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "target_required"


def test_a_hidden_outline_answers_like_a_missing_one(outline, settings):
    hide(outline, settings)

    response = APIClient().post(
        "/api/reports/", {"reason": "spam", "annotation": outline.pk}, format="json"
    )

    assert response.status_code == 404


def test_outlines_have_report_links_and_a_report_page(outline, client):
    image_id = outline.image_label.image_id

    page = client.get(f"/images/{image_id}/").content.decode()
    report_page = client.get("/report/", {"annotation": outline.pk}).content.decode()
    response = client.post("/report/", {"annotation": outline.pk, "reason": "wrong_content"})

    assert f'href="/report/?annotation={outline.pk}" data-report-annotation="{outline.pk}"' in page
    assert "Report an outline of “car”" in report_page
    assert "A moderator will look at this outline." in response.content.decode()
    assert Report.objects.get().case.annotation_id == outline.pk


def test_the_case_page_of_an_outline_shows_it_and_its_author(outline, settings, client):
    case = hide(outline, settings)
    client.force_login(ModeratorFactory(is_superuser=True))

    html = client.get(f"/admin/moderation/reportcase/{case.pk}/change/").content.decode()

    assert "Outline of “car”" in html
    assert f"/admin/contributors/contributor/{outline.author_id}/change/" in html
    assert "Remove and ban its author (B)" in html
