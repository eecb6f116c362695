import pytest
from django.test import Client

from contributors.models import Contributor
from labels_app.models import ImageLabel, ImageLabelState, LabelSuggestion
from tests.factories import (
    ContributorFactory,
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    UserFactory,
    VoterFactory,
    api_token_for,
)
from tests.served import serve
from validations.models import ValidationSkip, Vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def voter_client(api_client):
    voter = VoterFactory(user=UserFactory())
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(voter.user)}")
    api_client.contributor = voter
    return api_client


@pytest.fixture
def no_hidden_gold(settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0


def test_next_task_describes_the_question(voter_client, no_hidden_gold):
    image_label = ImageLabelFactory(label=LabelFactory(name="owl"))

    body = voter_client.get("/api/validations/next/").json()

    assert body["image_label"] == image_label.pk
    assert body["question"] == "Does this image show an owl?"
    assert body["label"]["name"] == "owl"
    assert body["image"]["preview_url"].endswith(f"/images/{image_label.image_id}/file/large")


def test_next_task_is_204_when_nothing_is_left(voter_client):
    assert voter_client.get("/api/validations/next/").status_code == 204


def test_next_task_can_exclude_the_one_on_screen_for_preloading(voter_client, no_hidden_gold):
    first, second = ImageLabelFactory(), ImageLabelFactory()

    body = voter_client.get("/api/validations/next/", {"exclude": str(first.pk)}).json()
    other = voter_client.get("/api/validations/next/", {"exclude": str(second.pk)}).json()

    assert body["image_label"] == second.pk
    assert other["image_label"] == first.pk


@pytest.mark.parametrize(
    ("query", "code"),
    [({"label": "no-such-label"}, "unknown_label"), ({"exclude": "1,x"}, "invalid_exclude")],
)
def test_next_task_refuses_bad_parameters(voter_client, query, code):
    response = voter_client.get("/api/validations/next/", query)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_vote_is_stored_and_counted_for_a_trained_voter(voter_client, no_hidden_gold):
    image_label = ImageLabelFactory()
    assert voter_client.get("/api/validations/next/").json()["image_label"] == image_label.pk

    response = voter_client.post(
        "/api/votes/", {"image_label": image_label.pk, "answer": "yes"}, format="json"
    )

    assert response.status_code == 201
    assert "counted" not in response.json()  # it would tell checks and demotions apart
    assert response.json()["feedback"] is None
    image_label.refresh_from_db()
    assert image_label.yes_count == 1
    assert Vote.objects.get().counted is True


@pytest.mark.parametrize(
    ("make_id", "status", "code", "detail"),
    [
        (lambda: 123456789, 404, "not_found", "There is no such image-label."),
        (
            lambda: ImageLabelFactory(image=ImageFactory(), in_queue=False).pk,
            409,
            "image_not_public",
            "This image is not public",
        ),
        (
            lambda: ImageLabelFactory(state=ImageLabelState.REJECTED, in_queue=False).pk,
            409,
            "not_served",
            "not handed to you",
        ),
    ],
    ids=["non-existent", "pending-image", "rejected-not-handed-out"],
)
def test_votes_on_unavailable_image_labels_are_refused(voter_client, make_id, status, code, detail):
    response = voter_client.post(
        "/api/votes/", {"image_label": make_id(), "answer": "yes"}, format="json"
    )

    assert response.status_code == status
    assert response.json()["code"] == code
    assert detail in response.json()["detail"]
    assert Vote.objects.count() == 0


def test_second_vote_is_a_409_and_the_first_is_unchanged(voter_client, no_hidden_gold):
    image_label = ImageLabelFactory()
    voter_client.get("/api/validations/next/")
    voter_client.post(
        "/api/votes/", {"image_label": image_label.pk, "answer": "yes"}, format="json"
    )

    response = voter_client.post(
        "/api/votes/", {"image_label": image_label.pk, "answer": "no"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "You already answered this one; your first answer stands."
    assert list(Vote.objects.values_list("answer", flat=True)) == ["yes"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"image_label": 1, "answer": "maybe"}, "answer"),
        ({"answer": "yes"}, "image_label"),
        ({"image_label": "one", "answer": "yes"}, "image_label"),
    ],
)
def test_malformed_votes_are_refused(voter_client, payload, field):
    ImageLabelFactory()

    response = voter_client.post("/api/votes/", payload, format="json")

    assert response.status_code == 400
    if field:
        assert field in response.json()["fields"]
    else:
        assert response.json()["code"] in ("invalid_answer", "not_found")
    assert Vote.objects.count() == 0


def test_unknown_answer_names_the_allowed_values(voter_client):
    image_label = ImageLabelFactory()

    response = voter_client.post(
        "/api/votes/", {"image_label": image_label.pk, "answer": "maybe"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "answer": ["Unknown answer 'maybe': use 'yes', 'no' or 'unsure'."]
    }


def test_training_feedback_comes_with_gold_answers(api_client):
    gold = GoldImageLabelFactory(gold_answer="no")
    client = Client(enforce_csrf_checks=True)
    client.get("/validate/")

    response = client.post(
        "/api/votes/",
        {"image_label": gold.pk, "answer": "no"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )

    assert response.status_code == 201
    assert response.json()["feedback"] == {
        "correct": True,
        "expected": "no",
        "training_passed": False,
    }


def test_anonymous_cross_site_vote_without_csrf_is_refused():
    image_label = ImageLabelFactory()
    contributors_before = Contributor.objects.count()
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/votes/",
        {"image_label": image_label.pk, "answer": "yes"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Vote.objects.count() == 0
    assert Contributor.objects.count() == contributors_before


def test_banned_contributor_cannot_vote(voter_client):
    from django.utils import timezone

    voter_client.contributor.banned_until = timezone.now() + timezone.timedelta(days=1)
    voter_client.contributor.save()
    image_label = ImageLabelFactory()

    response = voter_client.post(
        "/api/votes/", {"image_label": image_label.pk, "answer": "yes"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "banned"
    assert Vote.objects.count() == 0


def test_batch_votes_from_the_grid(voter_client):
    dog = LabelFactory(name="dog")
    items = [ImageLabelFactory(label=dog) for _ in range(3)]

    grid = voter_client.get("/api/validations/grid/", {"label": "dog"}).json()
    response = voter_client.post(
        "/api/votes/batch/",
        {"votes": [{"image_label": t["image_label"], "answer": "yes"} for t in grid["tasks"]]},
        format="json",
    )

    assert sorted(t["image_label"] for t in grid["tasks"]) == sorted(i.pk for i in items)
    assert response.status_code == 201
    assert len(response.json()) == 3


def test_batch_with_one_bad_answer_stores_nothing(voter_client):
    item = ImageLabelFactory()
    serve(voter_client.contributor, item)

    response = voter_client.post(
        "/api/votes/batch/",
        {
            "votes": [
                {"image_label": item.pk, "answer": "yes"},
                {"image_label": item.pk, "answer": "no"},
            ]
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "Answer 2: the same image-label appears twice."
    assert Vote.objects.count() == 0


def test_grid_needs_a_known_label(voter_client):
    assert voter_client.get("/api/validations/grid/").json()["code"] == "label_required"
    assert voter_client.get("/api/validations/grid/", {"label": "x", "size": 1}).status_code == 400
    LabelFactory(name="dog")
    assert (
        voter_client.get("/api/validations/grid/", {"label": "dog", "size": 99}).status_code == 400
    )


def test_skip_removes_the_item_from_this_contributors_queue(voter_client, no_hidden_gold):
    item = ImageLabelFactory()

    assert voter_client.post(f"/api/validations/{item.pk}/skip/").status_code == 204
    assert ValidationSkip.objects.filter(image_label=item).count() == 1
    assert voter_client.get("/api/validations/next/").status_code == 204


def test_label_search_matches_names_plurals_and_aliases(api_client):
    LabelFactory(name="dog", plural="dogs")
    LabelFactory(name="door", plural="doors")

    names = [m["name"] for m in api_client.get("/api/labels/", {"q": "Do"}).json()]

    assert names == ["dog", "door"]
    assert api_client.get("/api/labels/", {"q": ""}).json() == []


def test_adding_labels_through_the_api(voter_client):
    LabelFactory(name="dog")
    image = ImageFactory(status="unlocked")

    response = voter_client.post(
        f"/api/images/{image.pk}/labels/", {"labels": ["dog", "<b>gnome</b>"]}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert [il["label"] for il in body["added"]] == ["dog"]
    assert [s["text"] for s in body["suggested"]] == ["<b>gnome</b>"]


def test_a_10k_character_label_is_refused_with_the_cap(voter_client):
    image = ImageFactory(status="unlocked")

    response = voter_client.post(
        f"/api/images/{image.pk}/labels/", {"labels": ["x" * 10_000]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "label_too_long"
    assert "at most 64 characters" in response.json()["detail"]
    assert LabelSuggestion.objects.count() == ImageLabel.objects.count() == 0


def test_labels_cannot_be_added_to_someone_elses_pending_image(voter_client):
    image = ImageFactory()

    response = voter_client.post(
        f"/api/images/{image.pk}/labels/", {"labels": ["dog"]}, format="json"
    )

    assert response.status_code == 404


def test_image_label_list_reports_consensus_for_public_images(api_client):
    public = ImageLabelFactory(probability=0.97)
    ImageLabelFactory(image=ImageFactory(), in_queue=False)

    results = api_client.get("/api/image-labels/", {"min_probability": 0.9}).json()["results"]

    assert [r["id"] for r in results] == [public.pk]


def test_labelling_task_and_skip(voter_client):
    image = ImageFactory(status="unlocked")

    task = voter_client.get("/api/labelling/next/").json()
    skip = voter_client.post(f"/api/images/{image.pk}/labelling-skip/")

    assert task["image"]["id"] == str(image.pk)
    assert skip.status_code == 204
    assert voter_client.get("/api/labelling/next/").status_code == 204


def test_first_anonymous_vote_creates_one_contributor(api_client):
    gold = GoldImageLabelFactory()
    before = Contributor.objects.count()
    client = Client(enforce_csrf_checks=True)
    client.get("/validate/")

    client.post(
        "/api/votes/",
        {"image_label": gold.pk, "answer": "yes"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )

    assert Contributor.objects.count() == before + 1
    assert ContributorFactory._meta.model.objects.last().votes.count() == 1


def test_a_vote_on_a_question_never_handed_out_is_refused_and_stores_nothing(voter_client):
    """A client reading ids from the listing cannot pick its targets (pile-ons) or its gold."""
    listed = ImageLabelFactory()
    assert voter_client.get("/api/image-labels/").json()["results"][0]["id"] == listed.pk

    response = voter_client.post(
        "/api/votes/", {"image_label": listed.pk, "answer": "no"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_served"
    assert not Vote.objects.exists()


def test_a_question_handed_to_someone_else_cannot_be_answered(voter_client):
    item = ImageLabelFactory()
    other = VoterFactory(user=UserFactory())
    serve(other, item)

    response = voter_client.post(
        "/api/votes/", {"image_label": item.pk, "answer": "no"}, format="json"
    )

    assert response.status_code == 409
    assert not Vote.objects.exists()


def test_a_handed_out_question_expires(voter_client, no_hidden_gold, settings):
    settings.TASK_SERVED_SECONDS = 0
    item = ImageLabelFactory()
    voter_client.get("/api/validations/next/")

    response = voter_client.post(
        "/api/votes/", {"image_label": item.pk, "answer": "yes"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_served"


def test_a_batch_takes_only_questions_the_grid_handed_out(voter_client):
    dog = LabelFactory(name="dog")
    handed = [ImageLabelFactory(label=dog) for _ in range(2)]
    grid = voter_client.get("/api/validations/grid/", {"label": "dog", "size": 2}).json()
    assert {task["image_label"] for task in grid["tasks"]} == {item.pk for item in handed}
    elsewhere = ImageLabelFactory()

    refused = voter_client.post(
        "/api/votes/batch/",
        {
            "votes": [
                *({"image_label": item.pk, "answer": "yes"} for item in handed),
                {"image_label": elsewhere.pk, "answer": "no"},
            ]
        },
        format="json",
    )
    accepted = voter_client.post(
        "/api/votes/batch/",
        {"votes": [{"image_label": item.pk, "answer": "yes"} for item in handed]},
        format="json",
    )

    assert refused.status_code == 409
    assert "Answer 3" in refused.json()["detail"]
    assert accepted.status_code == 201
    assert Vote.objects.count() == 2


def test_a_question_seen_before_the_first_write_can_be_answered_by_that_browser(
    csrf_api_client, no_hidden_gold
):
    item = ImageLabelFactory()
    page = csrf_api_client.get("/validate/")  # a first visit: no contributor, no session
    assert str(item.image_id) in page.content.decode()
    token = csrf_api_client.cookies["csrftoken"].value

    response = csrf_api_client.post(
        "/api/votes/",
        {"image_label": item.pk, "answer": "yes"},
        format="json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201


def test_prefetch_hands_out_several_distinct_questions_each_answerable(
    voter_client, no_hidden_gold
):
    image_labels = ImageLabelFactory.create_batch(4)

    body = voter_client.get("/api/validations/next/", {"prefetch": "3"}).json()

    handed = [task["image_label"] for task in body["tasks"]]
    assert len(handed) == len(set(handed)) == 3
    assert set(handed) <= {image_label.pk for image_label in image_labels}
    for pk in handed:
        answer = voter_client.post(
            "/api/votes/", {"image_label": pk, "answer": "no"}, format="json"
        )
        assert answer.status_code == 201
    left_over = {image_label.pk for image_label in image_labels} - set(handed)
    refused = voter_client.post(
        "/api/votes/", {"image_label": left_over.pop(), "answer": "no"}, format="json"
    )
    assert refused.json()["code"] == "not_served"


def test_prefetch_leaves_out_the_excluded_and_stops_when_the_queue_runs_dry(
    voter_client, no_hidden_gold
):
    on_screen, other = ImageLabelFactory(), ImageLabelFactory()

    body = voter_client.get(
        "/api/validations/next/", {"prefetch": "5", "exclude": str(on_screen.pk)}
    ).json()

    assert [task["image_label"] for task in body["tasks"]] == [other.pk]


def test_prefetch_with_nothing_left_is_an_empty_list(voter_client):
    response = voter_client.get("/api/validations/next/", {"prefetch": "2"})

    assert response.status_code == 200
    assert response.json() == {"tasks": []}


@pytest.mark.parametrize("prefetch", ["0", "11", "two", "", "-1", "99999999999"])
def test_prefetch_out_of_range_is_refused_with_the_range(voter_client, prefetch):
    response = voter_client.get("/api/validations/next/", {"prefetch": prefetch})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_prefetch"
    assert "between 1 and 10" in response.json()["detail"]


@pytest.fixture
def queue_only(settings, no_hidden_gold):
    """No hidden gold and no rechecks: every next task comes from the queue."""
    settings.RECHECK_RATE = 0


def queued_at_the_top_of_their_rank(count: int) -> list:
    """Image-labels whose sort keys sit at the top of rank 0, so the random start of the queue's
    scan lies below them (a start past the last key costs one more scan: the wrap-round)."""
    return [ImageLabelFactory(sort_key=0.999999 + n * 1e-8) for n in range(count)]


def test_next_task_over_a_token_takes_three_queries(
    voter_client, queue_only, django_assert_num_queries
):
    queued_at_the_top_of_their_rank(3)
    voter_client.get("/api/validations/next/")  # the token's last-used time, written once

    # The token with its user and contributor; the queue's lowest rank; the task with its
    # image and label.
    with django_assert_num_queries(3):
        assert voter_client.get("/api/validations/next/").status_code == 200


def test_prefetch_takes_two_queries_per_question_and_one_for_the_token(
    voter_client, queue_only, django_assert_num_queries
):
    queued_at_the_top_of_their_rank(4)
    voter_client.get("/api/validations/next/")

    with django_assert_num_queries(1 + 2 * 3):
        assert len(voter_client.get("/api/validations/next/?prefetch=3").json()["tasks"]) == 3


def test_a_vote_over_a_token_takes_a_fixed_number_of_queries(
    voter_client, queue_only, django_assert_num_queries
):
    queued_at_the_top_of_their_rank(2)
    body = voter_client.get("/api/validations/next/?prefetch=2").json()
    first_pk, second_pk = (task["image_label"] for task in body["tasks"])
    voter_client.post("/api/votes/", {"image_label": first_pk, "answer": "yes"}, format="json")

    # The token with its user and contributor; the question (locked); whether its network has
    # a counted vote on it already; the vote (in a savepoint, as a second vote is a 409); the
    # voter's count; the question's evidence, and its state after it; and the savepoints of the
    # vote's transaction (inside the test's own).
    with django_assert_num_queries(11):
        response = voter_client.post(
            "/api/votes/", {"image_label": second_pk, "answer": "yes"}, format="json"
        )

    assert response.status_code == 201
