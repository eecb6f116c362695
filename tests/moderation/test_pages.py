import uuid

import pytest
from django.test import Client

from contributors.models import Contributor
from donations.models import ImageStatus
from moderation.models import Report
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory, VoterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def image():
    return ImageFactory(status=ImageStatus.UNLOCKED)


def report_link(image) -> str:
    return f'href="/report/?image={image.pk}" data-report-image="{image.pk}"'


def test_the_report_page_shows_the_image_and_the_reasons(client, image):
    html = client.get("/report/", {"image": str(image.pk)}).content.decode()

    assert f"/images/{image.pk}/file/small" in html
    assert "A person&#x27;s face or personal data without consent" in html
    assert 'name="reason"' in html and 'name="text"' in html


def test_reporting_without_javascript_thanks_the_reporter(client, image):
    response = client.post(
        "/report/?image=x", {"image": str(image.pk), "reason": "copyright", "text": "Mine"}
    )

    assert response.status_code == 200
    assert "A moderator will look at this image." in response.content.decode()
    stored = Report.objects.get()
    assert (stored.reason, stored.text, stored.case.image_id) == ("copyright", "Mine", image.pk)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Choose what is wrong with the image."),
        ({"reason": "nonsense"}, "Select a valid choice."),
        ({"reason": "other"}, "Say what is wrong when the reason is &#x27;other&#x27;."),
        ({"reason": "spam", "text": "x" * 501}, "at most 500 characters"),
    ],
)
def test_a_bad_report_form_names_the_problem_and_stores_nothing(client, image, fields, message):
    contributors_before = Contributor.objects.count()

    response = client.post("/report/", {"image": str(image.pk), **fields})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Report.objects.exists()
    assert Contributor.objects.count() == contributors_before


@pytest.mark.parametrize("status", [ImageStatus.PENDING, ImageStatus.HIDDEN, None])
def test_the_report_page_for_an_image_nobody_can_see_is_a_404_that_explains(client, status):
    image_id = str(ImageFactory(status=status).pk) if status else str(uuid.uuid4())

    for response in (
        client.get("/report/", {"image": image_id}),
        client.get("/report/", {"image": "garbage"}),
        client.post("/report/", {"image": image_id, "reason": "spam"}),
    ):
        assert response.status_code == 404
        assert "There is no public image with that id." in response.content.decode()
    assert not Report.objects.exists()


def test_a_cross_site_report_without_csrf_is_refused(image):
    response = Client(enforce_csrf_checks=True).post(
        "/report/", {"image": str(image.pk), "reason": "spam"}
    )

    assert response.status_code == 403
    assert not Report.objects.exists()


def test_every_page_carries_the_report_dialog(client):
    html = client.get("/").content.decode()

    assert 'id="report-dialog"' in html and "js/report.js" in html
    assert 'data-api-url="/api/reports/"' in html


def test_the_gallery_and_the_image_page_have_report_links(client, image):
    assert report_link(image) in client.get("/images/").content.decode()
    assert report_link(image) in client.get(f"/images/{image.pk}/").content.decode()


def test_a_donors_own_pending_image_has_no_report_link(client):
    pending = ImageFactory(status=ImageStatus.PENDING)
    session = client.session
    session["contributor_id"] = pending.donor_id
    session.save()

    assert "data-report-image" not in client.get(f"/images/{pending.pk}/").content.decode()


@pytest.fixture
def voter(client, settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    voter = VoterFactory()
    session = client.session
    session["contributor_id"] = voter.pk
    session.save()
    return voter


def test_the_validation_pages_have_report_links(client, voter):
    dog = LabelFactory(name="dog")
    items = [ImageLabelFactory(label=dog) for _ in range(2)]

    validate = client.get("/validate/").content.decode()
    grid = client.get("/validate/grid/", {"label": "dog"}).content.decode()

    assert 'data-report-source="task-image"' in validate
    assert any(str(item.image_id) in validate for item in items)
    for item in items:
        assert report_link(item.image) in grid


def test_the_labelling_page_has_a_report_link(client, image):
    html = client.get("/label/").content.decode()

    assert report_link(image) in html
