"""The refinement quiz: “What colour is this car?” about one shape, with “don't know”."""

import pytest

from annotations.models import (
    AnnotationRevision,
    QuestionState,
    RefinementAnswer,
    RefinementQuestion,
    ReviewState,
)
from annotations.services import (
    annotation_revise,
    next_refinement_question,
)
from core.errors import DomainError
from donations.models import ImageStatus
from labels_app.models import Label
from tests.factories import (
    ContributorFactory,
    LabelFactory,
    RefinementFactory,
    VoterFactory,
    submitted_annotation,
)
from tests.served import refinement_answer, serve

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4}
ELLIPSE = {"type": "ellipse", "cx": 0.7, "cy": 0.5, "rx": 0.1, "ry": 0.2}


@pytest.fixture
def colour():
    return RefinementFactory(
        name="colour",
        values=["red", "blue", "black"],
        question="What colour is this {label}?",
        applies_to=["vehicles"],
    )


def annotated(shapes, *, label_name="car", group="vehicles"):
    label = Label.objects.filter(name=label_name).first() or LabelFactory(
        name=label_name, group=group
    )
    return submitted_annotation(shapes=shapes, label=label)


def the_question(annotation, shape_index=0):
    return RefinementQuestion.objects.get(annotation=annotation, shape_index=shape_index)


def test_refinements_apply_by_group_by_ancestor_and_to_every_object():
    vehicle = LabelFactory(name="vehicle", group="vehicles")
    car = LabelFactory(name="car", group="vehicles", parent=vehicle)
    person = LabelFactory(name="person", group="people")
    RefinementFactory(name="colour", applies_to=["vehicles"])
    RefinementFactory(name="viewpoint", applies_to=["vehicle"])
    RefinementFactory(name="age group", applies_to=["person"])
    RefinementFactory(name="visibility", applies_to=["*"])
    RefinementFactory(name="retired", applies_to=["*"], active=False)

    def names(label):
        return [kind.name for kind in Label.objects.refinements_for(label)]

    assert names(car) == ["colour", "viewpoint", "visibility"]
    assert names(person) == ["age group", "visibility"]
    assert names(Label.objects.get(name="visibility")) == []


def test_a_new_annotation_opens_one_question_per_shape_and_missing_refinement(colour):
    RefinementFactory(name="material", applies_to=["furniture"])
    painted = {**ELLIPSE, "refinements": {"colour": "red"}}

    annotation = annotated([RECT, painted])

    questions = RefinementQuestion.objects.filter(annotation=annotation)
    assert [(q.shape_index, q.refinement.name, q.revision) for q in questions] == [(0, "colour", 1)]
    assert questions.get().text == "What colour is this car?"


def test_two_agreeing_answers_decide_and_refine_the_shape_but_not_its_history(colour):
    annotation = annotated([RECT, ELLIPSE])
    question = the_question(annotation, shape_index=1)

    for _ in range(2):
        refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="blue")

    question.refresh_from_db()
    annotation.refresh_from_db()
    assert (question.state, question.value, question.in_queue) == (
        QuestionState.DECIDED,
        "blue",
        False,
    )
    assert annotation.shapes[1]["refinements"] == {"colour": "blue"}
    assert "refinements" not in annotation.shapes[0]
    assert "refinements" not in AnnotationRevision.objects.get(annotation=annotation).shapes[1]
    assert annotation.revision == 1


def test_a_disputed_question_waits_for_a_clear_lead(colour):
    question = the_question(annotated([RECT]))

    refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="red")
    refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="black")
    question.refresh_from_db()
    assert question.state == QuestionState.OPEN

    refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="red")
    question.refresh_from_db()
    assert (question.state, question.value) == (QuestionState.DECIDED, "red")


def test_answers_from_trainees_are_stored_but_decide_nothing(colour):
    question = the_question(annotated([RECT]))

    for _ in range(3):
        answer = refinement_answer(
            contributor=ContributorFactory(), question_id=question.pk, value="red"
        )

    question.refresh_from_db()
    assert (answer.counted, answer.weight) == (False, 0.0)
    assert question.state == QuestionState.OPEN
    assert question.answer_count == 3


def test_dont_know_answers_retire_the_question_unanswered(colour, settings):
    settings.REFINEMENT_GIVE_UP_AFTER = 3
    question = the_question(annotated([RECT]))

    for _ in range(3):
        answer = refinement_answer(contributor=VoterFactory(), question_id=question.pk, value=None)

    question.refresh_from_db()
    assert answer.value == ""
    assert (question.state, question.dont_know_count, question.in_queue) == (
        QuestionState.UNKNOWN,
        3,
        False,
    )


def test_a_new_revision_replaces_the_open_questions(colour):
    annotation = annotated([RECT])
    old = the_question(annotation)

    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[ELLIPSE, RECT],
    )

    old.refresh_from_db()
    assert (old.state, old.in_queue) == (QuestionState.STALE, False)
    fresh = RefinementQuestion.objects.filter(annotation=annotation, revision=2)
    assert sorted(fresh.values_list("shape_index", flat=True)) == [0, 1]
    with pytest.raises(DomainError) as closed:
        refinement_answer(contributor=VoterFactory(), question_id=old.pk, value="red")
    assert closed.value.code == "question_closed"


@pytest.mark.parametrize(
    ("value", "code", "status"),
    [("purple", "invalid_value", 400), ("", "invalid_value", 400), ("RED", "invalid_value", 400)],
)
def test_a_value_outside_the_refinement_is_refused_and_nothing_stored(colour, value, code, status):
    question = the_question(annotated([RECT]))

    with pytest.raises(DomainError) as refused:
        refinement_answer(contributor=VoterFactory(), question_id=question.pk, value=value)

    assert (refused.value.code, refused.value.status) == (code, status)
    assert refused.value.extra["allowed"] == ["red", "blue", "black"]
    assert not RefinementAnswer.objects.exists()


def test_answering_twice_or_an_unknown_question_is_refused(colour):
    question = the_question(annotated([RECT]))
    voter = VoterFactory()
    refinement_answer(contributor=voter, question_id=question.pk, value="red")

    with pytest.raises(DomainError) as twice:
        refinement_answer(contributor=voter, question_id=question.pk, value="blue")
    with pytest.raises(DomainError) as missing:
        refinement_answer(contributor=voter, question_id=question.pk + 999, value="red")

    assert (twice.value.code, twice.value.status) == ("already_answered", 409)
    assert (missing.value.code, missing.value.status) == ("not_found", 404)
    assert RefinementAnswer.objects.get().value == "red"


def test_next_question_skips_answered_excluded_rejected_and_hidden_ones(colour):
    answered, excluded, rejected, hidden, waiting = (
        the_question(annotated([RECT])) for _ in range(5)
    )
    voter = VoterFactory()
    refinement_answer(contributor=voter, question_id=answered.pk, value="red")
    rejected.annotation.review_state = ReviewState.REJECTED
    rejected.annotation.save()
    hidden_image = hidden.annotation.image_label.image
    hidden_image.status = ImageStatus.HIDDEN
    hidden_image.save()

    seen = {
        next_refinement_question(contributor=voter, exclude=(excluded.pk,)).pk for _ in range(20)
    }

    assert seen == {waiting.pk}
    assert next_refinement_question(contributor=voter, exclude=(excluded.pk, waiting.pk)) is None


# --- API ----------------------------------------------------------------------------------------


def test_next_question_api_describes_the_shape_and_the_choices(api_client, colour):
    annotation = annotated([RECT])

    body = api_client.get("/api/refinements/next/").json()

    assert body["question"] == "What colour is this car?"
    assert body["refinement"] == "colour"
    assert body["values"] == ["red", "blue", "black"]
    assert (body["annotation"], body["revision"], body["shape_index"]) == (annotation.pk, 1, 0)
    assert body["shape"] == RECT
    assert body["image"]["id"] == str(annotation.image_label.image_id)


def test_next_question_api_is_204_when_nothing_waits_and_checks_exclude(api_client, colour):
    question = the_question(annotated([RECT]))

    assert api_client.get(f"/api/refinements/next/?exclude={question.pk}").status_code == 204
    bad = api_client.get("/api/refinements/next/?exclude=abc")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_exclude")


def test_answer_api_stores_a_value_or_dont_know(token_client, colour):
    first, second = (the_question(annotated([RECT])) for _ in range(2))
    serve(token_client.contributor, first, second, kind="quiz")

    chosen = token_client.post(
        "/api/refinements/answers/", {"question": first.pk, "value": "black"}, format="json"
    )
    unsure = token_client.post(
        "/api/refinements/answers/", {"question": second.pk, "dont_know": True}, format="json"
    )

    assert chosen.status_code == 201, chosen.content
    assert chosen.json()["value"] == "black"
    assert chosen.json()["question_state"] == "open"
    assert (unsure.status_code, unsure.json()["dont_know"]) == (201, True)
    assert RefinementAnswer.objects.count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"value": "red"}, "question"),
        ({"question": "{q}"}, "non_field_errors"),
        ({"question": "{q}", "value": "red", "dont_know": True}, "non_field_errors"),
        ({"question": "{q}", "value": ""}, "value"),
        ({"question": "{q}", "value": "x" * 65}, "value"),
    ],
)
def test_answer_api_names_the_malformed_field(token_client, colour, payload, field):
    question = the_question(annotated([RECT]))
    payload = {key: question.pk if value == "{q}" else value for key, value in payload.items()}

    response = token_client.post("/api/refinements/answers/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not RefinementAnswer.objects.exists()


def test_answer_api_refuses_a_value_of_another_refinement(token_client, colour):
    question = the_question(annotated([RECT]))
    serve(token_client.contributor, question, kind="quiz")

    response = token_client.post(
        "/api/refinements/answers/", {"question": question.pk, "value": "wood"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_value"
    assert "red, blue, black" in response.json()["detail"]


def test_anonymous_answers_need_the_csrf_token(csrf_api_client, colour):
    question = the_question(annotated([RECT]))

    response = csrf_api_client.post(
        "/api/refinements/answers/", {"question": question.pk, "value": "red"}, format="json"
    )

    assert response.status_code == 403
    assert not RefinementAnswer.objects.exists()


def test_quiz_endpoints_are_in_the_schema(api_client):
    paths = api_client.get("/api/schema/?format=json").json()["paths"]

    assert {"/api/refinements/next/", "/api/refinements/answers/"} <= set(paths)


# --- Page -----------------------------------------------------------------------------------------


def test_quiz_page_asks_about_the_outlined_object_with_keyed_choices(client, colour):
    annotated([RECT])

    html = client.get("/annotate/quiz/").content.decode()

    assert "What colour is this car?" in html
    assert 'value="red" class="button quiz-choice" data-key="1"' in html
    assert 'value="black" class="button quiz-choice" data-key="3"' in html
    assert 'name="dont_know" value="1"' in html
    # Zoomed onto the rectangle (x 0.1–0.4, y 0.2–0.6) with half its size as context.
    image = RefinementQuestion.objects.get().annotation.image_label.image
    assert f'viewBox="0.0 0.0 {0.55 * image.width:.1f} {0.8 * image.height:.1f}"' in html


def test_quiz_page_records_answers_and_dont_know(client, colour):
    first, second = (the_question(annotated([RECT])) for _ in range(2))
    client.get("/annotate/quiz/")  # hands out one and preloads the other
    client.post("/annotate/quiz/", {"question": first.pk, "value": "blue"})
    response = client.post(
        f"/annotate/quiz/?skip={first.pk + 100}", {"question": second.pk, "dont_know": "1"}
    )

    assert response.headers["Location"] == f"/annotate/quiz/?skip={first.pk + 100}"
    assert sorted(RefinementAnswer.objects.values_list("value", flat=True)) == ["", "blue"]


def test_quiz_page_explains_a_refused_answer(client, colour):
    question = the_question(annotated([RECT]))
    client.get("/annotate/quiz/")

    response = client.post(
        "/annotate/quiz/", {"question": question.pk, "value": "plaid"}, follow=True
    )

    assert response.status_code == 200
    assert "is not a colour" in response.content.decode()
    assert not RefinementAnswer.objects.exists()


def test_quiz_page_skip_moves_on_and_says_when_nothing_is_left(client, colour):
    question = the_question(annotated([RECT]))

    html = client.get(f"/annotate/quiz/?skip={question.pk}").content.decode()

    assert "No questions right now" in html


def test_moderators_see_questions_and_their_answers_in_the_admin(client, colour):
    from tests.factories import ModeratorFactory

    question = the_question(annotated([RECT]))
    refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="black")
    client.force_login(ModeratorFactory(is_superuser=True))

    listing = client.get("/admin/annotations/refinementquestion/?state=open").content.decode()
    detail = client.get(f"/admin/annotations/refinementquestion/{question.pk}/change/")

    assert "What colour is this car?" in listing
    assert detail.status_code == 200
    assert "black" in detail.content.decode()


def test_next_question_api_needs_at_most_two_queries_however_many_wait(
    api_client, colour, django_assert_max_num_queries
):
    # The question with its refinement, annotation, image and label joined: one query, run a
    # second time only when the random start lies past the last key.
    for _ in range(6):
        annotated([RECT, ELLIPSE])

    for _ in range(5):
        with django_assert_max_num_queries(2):
            assert api_client.get("/api/refinements/next/").status_code == 200


def test_a_trainees_answer_counts_once_they_pass_and_can_decide(colour):
    from trust.tasks import recount_contributor_judgements

    question = the_question(annotated([RECT]))
    trainee = ContributorFactory(gold_answered=10, gold_correct=10)
    refinement_answer(contributor=trainee, question_id=question.pk, value="red")
    refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="red")
    question.refresh_from_db()
    assert question.state == QuestionState.OPEN  # one counted answer is not enough

    trainee.votes_counted = True
    trainee.save()
    recount_contributor_judgements.call(contributor_id=trainee.pk)

    question.refresh_from_db()
    assert (question.state, question.value) == (QuestionState.DECIDED, "red")
    assert question.annotation.shapes[0]["refinements"] == {"colour": "red"}


def test_the_editor_offers_only_the_refinements_that_describe_the_label(client, colour):
    RefinementFactory(name="material", values=["wood"], applies_to=["furniture"])
    annotation = annotated([RECT])

    html = client.get(f"/annotate/?annotation={annotation.pk}").content.decode()

    assert '"name": "colour"' in html
    assert '"material"' not in html


def test_image_page_lists_the_refinements_of_each_shape(client, colour):
    annotation = annotated([RECT, {**ELLIPSE, "refinements": {"colour": "red"}}])

    html = client.get(annotation.image_label.image.get_absolute_url()).content.decode()

    assert "Shape 2: colour red" in html
    assert "Shape 1:" not in html


def test_an_answer_to_a_question_never_handed_out_is_refused(colour):
    from annotations import services

    question = the_question(annotated([RECT]))

    with pytest.raises(DomainError) as caught:
        services.refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="red")

    assert (caught.value.code, caught.value.status) == ("not_served", 409)
    assert not RefinementAnswer.objects.exists()
