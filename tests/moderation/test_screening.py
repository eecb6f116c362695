"""Nudity screening of donations with NudeNet's offline model (the optional extra, installed by
`make test`), in the background, never unlocking anything it is unsure of."""

import sys

import pytest
from django.test import Client
from rest_framework.test import APIClient

from contributors.models import TrustLevel
from donations.models import Image, ImageStatus, Screening
from moderation import screening
from moderation.models import ModerationAction
from moderation.services import screening_decide
from tests.contributors.browser import donate, photo_upload
from tests.factories import (
    ImageFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
)

pytestmark = pytest.mark.django_db

EXPOSED = {"class": "FEMALE_BREAST_EXPOSED", "score": 0.91, "box": [1, 2, 3, 4]}
FACE = {"class": "FACE_FEMALE", "score": 0.97, "box": [1, 2, 3, 4]}


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def donate_as(contributor, commit, seed=3):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(contributor.user)}")
    response = commit(
        client.post,
        "/api/donations/",
        {"file": photo_upload(seed), "cc0": "true"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return Image.objects.get(pk=response.json()["id"])


def test_a_donation_is_screened_by_the_real_model_in_the_background_and_stays_pending(commit):
    response = commit(donate, Client(), seed=4)

    image = Image.objects.get(pk=response.json()["id"])
    assert image.screening == Screening.CLEAN
    assert 0 <= image.screening_score < 0.5
    assert image.status == ImageStatus.PENDING  # a moderator still decides


def test_the_upload_answers_before_screening_runs_and_the_worker_screens_it(commit, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }

    response = commit(donate, Client(), seed=5)

    image = Image.objects.get(pk=response.json()["id"])
    assert response.status_code == 201
    assert image.screening == ""  # the request only queued it
    assert DBTaskResult.objects.filter(task_path="moderation.tasks.screen_donation").exists()

    # What the worker does with the queued row (its command would close the test database).
    queued = DBTaskResult.objects.get(task_path="moderation.tasks.screen_donation")
    queued.task.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])

    image.refresh_from_db()
    assert image.screening == Screening.CLEAN


@pytest.mark.parametrize(
    ("auto_unlock", "level", "unlocked"),
    [
        (True, TrustLevel.TRUSTED, True),
        (False, TrustLevel.TRUSTED, False),
        (True, TrustLevel.CONTRIBUTOR, False),
    ],
)
def test_a_trusted_donors_clean_photo_is_unlocked_only_when_the_setting_says_so(
    commit, settings, auto_unlock, level, unlocked
):
    settings.SCREENING_AUTO_UNLOCK_TRUSTED = auto_unlock
    settings.SCREENING_CLEAN_SCORE = 0.5
    donor = RegisteredContributorFactory(trust_level=level)

    image = donate_as(donor, commit)

    assert image.status == (ImageStatus.UNLOCKED if unlocked else ImageStatus.PENDING)
    if unlocked:
        action = ModerationAction.objects.get(kind="unlock")
        assert action.actor is None and "Screened clean" in action.reason


def test_a_high_score_stays_pending_marked_with_its_score_even_from_a_trusted_donor(settings):
    settings.SCREENING_AUTO_UNLOCK_TRUSTED = True
    image = ImageFactory(donor=RegisteredContributorFactory(trust_level=TrustLevel.TRUSTED))

    state = screening_decide(image=image, detections=[FACE, EXPOSED])

    image.refresh_from_db()
    assert state == Screening.FLAGGED
    assert (image.status, image.screening_score) == (ImageStatus.PENDING, 0.91)


def test_faces_and_covered_parts_do_not_count_as_nudity():
    covered = {"class": "FEMALE_BREAST_COVERED", "score": 0.99, "box": [0, 0, 1, 1]}

    assert screening.nudity_score([FACE, covered]) == 0.0
    assert screening.nudity_score([FACE, EXPOSED]) == 0.91


def test_without_the_model_every_donation_stays_pending_and_the_review_says_so(
    commit, monkeypatch, client
):
    monkeypatch.setitem(sys.modules, "nudenet", None)  # as if the optional extra were missing
    screening._detector.cache_clear()
    donor = RegisteredContributorFactory(trust_level=TrustLevel.TRUSTED)
    try:
        image = donate_as(donor, commit, seed=6)
    finally:
        screening._detector.cache_clear()

    assert (image.status, image.screening) == (ImageStatus.PENDING, Screening.UNAVAILABLE)
    client.force_login(ModeratorFactory())
    page = client.get("/admin/donations/image/review/").content.decode()
    assert "Automatic screening is unavailable: 1 pending donation could not be screened" in page
    assert "Not screened (screening unavailable)" in page


def test_the_review_marks_flagged_donations_with_their_score(client):
    image = ImageFactory()
    screening_decide(image=image, detections=[EXPOSED])
    client.force_login(ModeratorFactory())

    page = client.get("/admin/donations/image/review/").content.decode()
    listing = client.get("/admin/donations/image/?screening__exact=flagged").content.decode()

    assert "Flagged: likely nudity (score 0.91)" in page
    assert str(image.pk) in listing
