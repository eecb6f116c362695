import pytest

from annotations.models import AnnotationVote, ReviewState
from annotations.services import (
    annotation_revise,
    annotation_submit,
    annotation_task_lease,
    annotation_vote_cast,
    next_annotation_review,
)
from imagemonkey_site.errors import DomainError
from tests.factories import AnnotationTaskFactory, ContributorFactory, VoterFactory

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}


def annotated(author=None):
    author = author or ContributorFactory()
    AnnotationTaskFactory()
    lease = annotation_task_lease(contributor=author)
    return annotation_submit(contributor=author, lease_id=lease.pk, shapes=[RECT])


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
    )

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
    from validations.tasks import recount_contributor_votes

    annotation = annotated()
    trainee = ContributorFactory(gold_answered=10, gold_correct=10)
    annotation_vote_cast(
        contributor=trainee, annotation_id=annotation.pk, revision=1, answer="good"
    )

    trainee.votes_counted = True
    trainee.save()
    recount_contributor_votes.call(contributor_id=trainee.pk)
    annotation.refresh_from_db()
    counted_evidence = annotation.evidence

    trainee.votes_counted = False
    trainee.save()
    recount_contributor_votes.call(contributor_id=trainee.pk)
    annotation.refresh_from_db()

    assert counted_evidence == pytest.approx(trainee.vote_weight())
    assert (annotation.evidence, annotation.counted_votes) == (pytest.approx(0), 0)
    assert annotation.good_count == 1  # the raw tally keeps every review
    assert AnnotationVote.objects.get().counted is False
