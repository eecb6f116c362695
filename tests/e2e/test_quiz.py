"""The refinement quiz in a real browser: keys, “don't know”, skip, and a tap on a phone."""

import re

import pytest
from playwright.sync_api import expect

from annotations.models import RefinementAnswer, RefinementQuestion
from tests.factories import (
    LabelFactory,
    RefinementFactory,
    submitted_annotation,
)

pytestmark = pytest.mark.django_db(transaction=True)

SMALL_CAR = {"type": "rect", "x": 0.6, "y": 0.6, "width": 0.1, "height": 0.1}


def outlined_cars(count: int) -> list[RefinementQuestion]:
    """`count` outlined cars, each with one open “what colour” question."""
    RefinementFactory(
        name="colour",
        values=["red", "blue", "black"],
        question="What colour is this {label}?",
        applies_to=["*"],
    )
    car = LabelFactory(name="car")
    for _ in range(count):
        submitted_annotation(shapes=[SMALL_CAR], label=car)
    return list(RefinementQuestion.objects.order_by("pk"))


def question_on_screen(page) -> RefinementQuestion:
    return RefinementQuestion.objects.get(
        pk=int(page.locator('#quiz-form input[name="question"]').input_value())
    )


def test_quiz_answers_with_keys_dont_know_and_skip(page):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    outlined_cars(3)

    page.goto("/annotate/quiz/")
    expect(page.locator("#quiz-question")).to_have_text("What colour is this car?")
    # The view is zoomed onto the small car (a tenth of the image wide): the whole image would
    # be about four times as wide as the view, and the outline sits on the car.
    car = page.locator(".quiz-view .quiz-target rect").bounding_box()
    image = page.locator(".quiz-view image").bounding_box()
    view = page.locator(".quiz-view").bounding_box()
    assert image["width"] > 2 * view["width"]
    assert car["width"] == pytest.approx(0.1 * image["width"], rel=0.05)
    assert car["x"] == pytest.approx(image["x"] + 0.6 * image["width"], abs=2)

    first = question_on_screen(page)
    page.keyboard.press("2")
    expect(page.locator("#quiz-question")).to_be_visible()
    second = question_on_screen(page)
    assert second != first
    page.keyboard.press("s")
    expect(page).to_have_url(re.compile(rf"skip={second.pk}$"))
    third = question_on_screen(page)
    assert third not in (first, second)
    page.keyboard.press("d")

    # Skipped questions stay skipped while answering on: only the skipped one is left.
    expect(page).to_have_url(re.compile(rf"skip={second.pk}$"))
    expect(page.get_by_role("heading", name="No questions right now")).to_be_visible()
    answers = dict(RefinementAnswer.objects.values_list("question_id", "value"))
    assert answers == {first.pk: "blue", third.pk: ""}
    assert errors == []


def test_phone_taps_an_answer(phone_page):
    (question,) = outlined_cars(1)

    phone_page.goto("/annotate/quiz/")
    phone_page.get_by_role("button", name="black").tap()

    expect(phone_page.get_by_role("heading", name="No questions right now")).to_be_visible()
    assert RefinementAnswer.objects.get().question == question
    assert RefinementAnswer.objects.get().value == "black"
