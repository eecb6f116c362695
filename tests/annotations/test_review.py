import pytest

from annotations.models import AnnotationVote, ReviewState
from annotations.services import (
    annotation_revise,
    next_annotation_review,
)
from core.errors import DomainError
from tests.factories import (
    ContributorFactory,
    UserFactory,
    VoterFactory,
    api_token_for,
    submitted_annotation,
)
from tests.served import annotation_vote_cast
from trust.services import judgement_weight

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}


def annotated(author=None):
    return submitted_annotation(shapes=[RECT], author=author)


def reviewer():
    return VoterFactory(gold_answered=10, gold_correct=9)


def test_agreeing_good_reviews_approve_an_annotation_and_end_its_review():
    annotation = annotated()

    for _ in range(3):
        annotation_vote_cast(
            contributor=reviewer(), annotation_id=annotation.pk, revision=1, answer="good"
        )

    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.APPROVED
    assert annotation.in_review is False
    assert annotation.good_count == 3


def test_reviews_from_trainees_are_stored_but_not_counted():
    annotation = annotated()

    vote = annotation_vote_cast(
        contributor=ContributorFactory(), annotation_id=annotation.pk, revision=1, answer="bad"
    ).vote

    annotation.refresh_from_db()
    assert vote.counted is False
    assert (annotation.bad_count, annotation.evidence) == (1, 0)


def test_a_new_revision_starts_its_review_afresh():
    annotation = annotated()
    annotation_vote_cast(
        contributor=reviewer(), annotation_id=annotation.pk, revision=1, answer="bad"
    )

    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[{**RECT, "width": 0.3}],
    )

    annotation.refresh_from_db()
    assert (annotation.bad_count, annotation.evidence, annotation.in_review) == (0, 0, True)


@pytest.mark.parametrize(
    ("revision", "answer", "code"),
    [(2, "good", "revision_conflict"), (1, "great", "invalid_answer")],
)
def test_bad_reviews_are_refused(revision, answer, code):
    annotation = annotated()

    with pytest.raises(DomainError) as caught:
        annotation_vote_cast(
            contributor=reviewer(), annotation_id=annotation.pk, revision=revision, answer=answer
        )

    assert caught.value.code == code
    assert AnnotationVote.objects.count() == 0


def test_nobody_reviews_their_own_drawing_or_the_same_revision_twice():
    author = reviewer()
    annotation = annotated(author)
    other = reviewer()
    annotation_vote_cast(contributor=other, annotation_id=annotation.pk, revision=1, answer="good")

    assert next_annotation_review(contributor=author) is None
    assert next_annotation_review(contributor=other) is None
    assert next_annotation_review(contributor=reviewer()) == annotation
    with pytest.raises(DomainError) as caught:
        annotation_vote_cast(
            contributor=other, annotation_id=annotation.pk, revision=1, answer="bad"
        )
    assert caught.value.code == "already_answered"


def test_review_page_and_keys(client):
    annotation = annotated()

    html = client.get("/annotate/review/").content.decode()
    client.post("/annotate/review/", {"annotation": annotation.pk, "revision": 1, "answer": "good"})

    assert "Is every" in html
    assert '<rect x="0.1" y="0.1"' in html
    assert "js/key_buttons.js" in html
    assert AnnotationVote.objects.get().answer == "good"


def test_review_api(api_client):
    annotation = annotated()
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.get("/annotate/review/")
    task = browser.get("/api/annotations/review/next/").json()

    response = browser.post(
        "/api/annotation-votes/",
        {"annotation": task["annotation"], "revision": task["revision"], "answer": "bad"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )

    assert task["annotation"] == annotation.pk
    assert response.status_code == 201
    assert response.json()["answer"] == "bad"


def test_a_trainees_reviews_count_once_they_pass_and_stop_when_demoted():
    from trust.tasks import recount_contributor_judgements

    annotation = annotated()
    trainee = ContributorFactory(gold_answered=10, gold_correct=10)
    annotation_vote_cast(
        contributor=trainee, annotation_id=annotation.pk, revision=1, answer="good"
    )

    trainee.votes_counted = True
    trainee.save()
    weight_while_counting = judgement_weight(trainee)
    recount_contributor_judgements.call(contributor_id=trainee.pk)
    annotation.refresh_from_db()
    counted_evidence = annotation.evidence

    trainee.votes_counted = False
    trainee.save()
    recount_contributor_judgements.call(contributor_id=trainee.pk)
    annotation.refresh_from_db()

    assert counted_evidence == pytest.approx(weight_while_counting)
    assert (annotation.evidence, annotation.counted_votes) == (pytest.approx(0), 0)
    assert annotation.good_count == 1  # the raw tally keeps every review
    assert AnnotationVote.objects.get().counted is False


# --- Gold annotations: the label training rules, applied to reviewing --------------------------


def gold(answer="good"):
    from annotations.services import annotation_gold_mark

    return annotation_gold_mark(annotation=annotated(), answer=answer, by=None)


def test_marking_gold_keeps_the_public_review_state_and_queue():
    annotation = gold("bad")

    annotation.refresh_from_db()
    # Nothing public says "decided with no reviews": the verdict is private.
    assert (annotation.gold_answer, annotation.review_state, annotation.in_review) == (
        "bad",
        ReviewState.OPEN,
        True,
    )


def test_a_newcomer_reviewing_gold_learns_whether_they_were_right(settings):
    settings.GOLD_RATE_TRAINING = 1.0  # (a newcomer meets gold often, not always first)
    gold("bad")
    annotated()  # an ordinary one waits too
    newcomer = ContributorFactory()

    task = next_annotation_review(contributor=newcomer)
    result = annotation_vote_cast(
        contributor=newcomer, annotation_id=task.pk, revision=1, answer="good"
    )

    newcomer.refresh_from_db()
    assert task.gold_answer == "bad"
    assert result.feedback == {"correct": False, "expected": "bad", "training_passed": False}
    assert (result.vote.on_gold, result.vote.counted) == (True, False)
    assert (newcomer.gold_answered, newcomer.gold_correct) == (1, 0)


def test_right_gold_reviews_pass_training_like_label_gold(settings):
    settings.TRAINING_MIN_GOLD = 5
    newcomer = ContributorFactory()

    results = [
        annotation_vote_cast(
            contributor=newcomer, annotation_id=gold().pk, revision=1, answer="good"
        )
        for _ in range(5)
    ]

    newcomer.refresh_from_db()
    assert [result.feedback["correct"] for result in results] == [True] * 5
    assert results[-2].feedback["training_passed"] is False
    assert results[-1].feedback["training_passed"] is True
    assert newcomer.votes_counted is True


def test_gold_reviews_move_the_review_like_any_and_unsure_is_no_gold_answer():
    annotation = gold("good")
    unsure, sure = reviewer(), reviewer()

    result = annotation_vote_cast(
        contributor=unsure, annotation_id=annotation.pk, revision=1, answer="unsure"
    )
    weight = judgement_weight(sure)
    annotation_vote_cast(contributor=sure, annotation_id=annotation.pk, revision=1, answer="good")

    annotation.refresh_from_db()
    unsure.refresh_from_db()
    sure.refresh_from_db()
    assert result.feedback is None
    assert (annotation.good_count, annotation.unsure_count) == (1, 1)
    assert weight > 0 and annotation.evidence == pytest.approx(weight)
    assert unsure.gold_answered == 10  # unchanged from the factory's record
    assert (sure.gold_answered, sure.gold_correct) == (11, 10)  # 9 of 10, then right


def test_hidden_gold_keeps_checking_trained_reviewers(settings):
    settings.GOLD_RATE_FLOOR = settings.GOLD_RATE_AFTER_TRAINING = 1.0
    gold_one = gold()
    annotated()

    assert next_annotation_review(contributor=reviewer()) == gold_one


def test_a_new_revision_is_no_longer_gold():
    annotation = gold("good")

    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[{**RECT, "width": 0.2}],
    )

    annotation.refresh_from_db()
    assert (annotation.gold_answer, annotation.in_review) == ("", True)


def test_review_api_returns_training_feedback_on_gold(api_client):
    annotation = gold("good")
    trainee = ContributorFactory(user=UserFactory())
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(trainee.user)}")
    assert api_client.get("/api/annotations/review/next/").json()["annotation"] == annotation.pk

    body = api_client.post(
        "/api/annotation-votes/",
        {"annotation": annotation.pk, "revision": 1, "answer": "good"},
        format="json",
    ).json()

    assert body["feedback"] == {"correct": True, "expected": "good", "training_passed": False}


def test_review_page_tells_a_trainee_the_gold_verdict(client):
    annotation = gold("bad")
    client.get("/annotate/review/")

    response = client.post(
        "/annotate/review/",
        {"annotation": annotation.pk, "revision": 1, "answer": "good"},
        follow=True,
    )

    html = response.content.decode()
    assert "Not quite — the right answer was “bad”." in html
    assert "You are in training" in html


def test_review_feedback_after_the_redirect_shows_the_outline_it_is_about(client):
    judged = gold("bad")
    waiting = annotated()
    client.get("/annotate/review/")  # a newcomer's first review is the gold one

    response = client.post(
        "/annotate/review/",
        {"annotation": judged.pk, "revision": 1, "answer": "good"},
        follow=True,
    )
    again = client.get("/annotate/review/").content.decode()

    html = response.content.decode()
    feedback = html[html.index('id="training-feedback"') : html.index('class="question"')]
    image_id = judged.image_label.image_id
    assert f'src="/images/{image_id}/file/small" alt="The photo you just answered"' in feedback
    assert '<rect x="0.1" y="0.1" width="0.5" height="0.5"' in feedback
    label = judged.image_label.label.name
    assert f"About the photo you just answered (shown here): “Is every {label} outlined well?”" in (
        feedback
    )
    assert "Not quite — the right answer was “bad”." in feedback
    # The question below is already about the next outline.
    assert f'name="annotation" value="{waiting.pk}"' in html
    assert 'id="training-feedback"' not in again


def test_moderators_mark_gold_with_an_admin_action(client):
    from annotations.models import Annotation
    from tests.factories import ModeratorFactory

    annotation = annotated()
    client.force_login(ModeratorFactory(is_superuser=True))

    client.post(
        "/admin/annotations/annotation/",
        {"action": "mark_gold_good", "_selected_action": [annotation.pk]},
    )

    assert Annotation.objects.get(pk=annotation.pk).gold_answer == "good"


def test_image_page_shows_the_review_of_each_annotation(client):
    annotation = annotated()
    for answer in ("good", "good", "bad"):
        annotation_vote_cast(
            contributor=reviewer(), annotation_id=annotation.pk, revision=1, answer=answer
        )

    html = client.get(annotation.image_label.image.get_absolute_url()).content.decode()

    assert "(2 good / 1 bad)" in html


def test_review_page_prefetches_the_next_image_and_the_api_takes_exclude(client, api_client):
    first, second = annotated(), annotated()

    html = client.get("/annotate/review/").content.decode()
    shown = first if f'name="annotation" value="{first.pk}"' in html else second
    other = second if shown == first else first
    preloaded = api_client.get(f"/api/annotations/review/next/?exclude={shown.pk}").json()

    assert f'rel="prefetch" href="/images/{other.image_label.image_id}/file/large"' in html
    assert preloaded["annotation"] == other.pk


def test_a_review_of_an_annotation_never_handed_out_is_refused():
    from annotations import services

    annotation = annotated()

    with pytest.raises(DomainError) as caught:
        services.annotation_vote_cast(
            contributor=reviewer(), annotation_id=annotation.pk, revision=1, answer="bad"
        )

    assert (caught.value.code, caught.value.status) == ("not_served", 409)
    assert not AnnotationVote.objects.exists()
