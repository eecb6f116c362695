"""A fresh site with only moderators and newcomers gets decided labels and training."""

import pytest
from rest_framework.test import APIClient

from labels_app.models import ImageLabel, ImageLabelState
from tests.factories import (
    ContributorFactory,
    ImageLabelFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
)
from validations.models import Vote

pytestmark = pytest.mark.django_db


def client_of(contributor) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(contributor.user)}")
    return client


def answer_next(client, *, answer) -> dict:
    task = client.get("/api/validations/next/").json()
    response = client.post(
        "/api/votes/", {"image_label": task["image_label"], "answer": answer(task)}, format="json"
    )
    assert response.status_code == 201, response.content
    return {"task": task, "vote": response.json()}


def test_a_moderators_answer_decides_and_becomes_a_training_item():
    moderator = RegisteredContributorFactory(user=ModeratorFactory(), trust_level=3)
    item = ImageLabelFactory()

    answer_next(client_of(moderator), answer=lambda task: "yes")

    item.refresh_from_db()
    assert item.state == ImageLabelState.CONFIRMED
    assert (item.gold_answer, item.gold_pool) == ("yes", "training")


def test_newcomers_train_on_moderators_answers_and_then_count(settings):
    settings.TRAINING_MIN_GOLD = 3
    settings.TRAINING_ACCURACY_BOUND = 0.5
    settings.GOLD_RATE_TRAINING = 1.0  # while training items are left, trainees get them
    moderator = RegisteredContributorFactory(user=ModeratorFactory(), trust_level=3)
    items = [ImageLabelFactory() for _ in range(6)]
    truth = {item.pk: ("yes" if index % 2 else "no") for index, item in enumerate(items)}
    for _ in range(3):
        answer_next(client_of(moderator), answer=lambda task: truth[task["image_label"]])
    newcomer = RegisteredContributorFactory()
    client = client_of(newcomer)

    answers = [
        answer_next(client, answer=lambda task: truth[task["image_label"]]) for _ in range(4)
    ]

    newcomer.refresh_from_db()
    assert [a["vote"]["feedback"] is not None for a in answers[:3]] == [True, True, True]
    assert answers[2]["vote"]["feedback"]["training_passed"] is True
    assert not newcomer.in_training
    # The fourth answer, on a question nobody decided yet, counts.
    fourth = Vote.objects.get(
        contributor=newcomer, image_label_id=answers[3]["task"]["image_label"]
    )
    assert fourth.counted
    assert ImageLabel.objects.get(pk=fourth.image_label_id).counted_votes == 1


def test_the_training_note_does_not_promise_feedback_when_there_is_no_training_item(client):
    ImageLabelFactory()

    html = client.get("/validate/").content.decode()

    assert "you will see right away whether you got them" not in html
    assert "There are none to train on yet" in html


def test_the_admin_asks_moderators_for_training_items_with_a_link(client, settings):
    settings.TRAINING_GOLD_TARGET = 5
    moderator = ModeratorFactory()
    moderator.is_superuser = True
    moderator.save()
    client.force_login(moderator)
    ContributorFactory()

    html = client.get("/admin/").content.decode()

    assert "Mark 5 more gold items so newcomers can train" in html
    assert "/admin/validations/validationquestion/?state__exact=open" in html
