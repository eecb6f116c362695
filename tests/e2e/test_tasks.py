"""The contribution tasks in a real browser: labelling, validating (keys, touch, grid), training."""

import re
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from contributors.identity import SESSION_KEY
from contributors.models import Contributor
from donations.models import ImageStatus
from labels_app.models import Answer, ImageLabel, LabellingVisit, LabelSuggestion
from tests.factories import (
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    VoterFactory,
)
from validations.models import Vote

pytestmark = pytest.mark.django_db(transaction=True)

TRAINING_PASSED = "Training passed: your answers now count. Thank you!"


def log_in_as(page, live_server, contributor: Contributor) -> None:
    """Give the browser a session that belongs to an (anonymous) contributor."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = contributor.pk
    store.save()
    page.context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": store.session_key,
                "url": live_server.url,
            }
        ]
    )


def task_on_screen(page) -> ImageLabel:
    """The image-label the validation page is asking about right now."""
    return ImageLabel.objects.select_related("label").get(
        pk=int(page.locator("#image-label-id").input_value())
    )


def shown_image_id(page) -> str:
    return page.locator('#label-form input[name="image"]').input_value()


# --- Labelling -------------------------------------------------------------------------------


def test_labeller_picks_a_catalog_label_from_the_keyboard_and_suggests_a_new_word(page):
    LabelFactory(name="dodo")
    LabelFactory(name="dog")
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    page.goto(f"/label/?image={image.pk}")
    field = page.locator("#label-input")
    field.press_sequentially("do")

    # Both labels starting with "do" are offered; the first is active until the arrow moves on.
    options = page.locator("#label-options .autocomplete-option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_have_class(re.compile(r"\bactive\b"))
    field.press("ArrowDown")
    expect(options.filter(has_text="dog")).to_have_class(re.compile(r"\bactive\b"))
    expect(field).to_have_attribute("aria-activedescendant", "label-option-1")
    field.press("Enter")

    chips = page.locator("#chips .chip")
    expect(chips).to_have_count(1)
    expect(chips.nth(0)).to_have_attribute("data-value", "dog")
    expect(field).to_have_value("")
    expect(page.locator("#label-options")).to_be_hidden()

    # A comma turns a free word into a chip of its own.
    field.press_sequentially("unicornfish,")
    expect(chips).to_have_count(2)
    expect(chips.nth(1)).to_have_attribute("data-value", "unicornfish")
    expect(field).to_have_value("")

    page.get_by_role("button", name="Add labels").click()
    expect(page.locator(".messages .message")).to_have_text(
        [
            "Added: dog. Others will now check them.",
            "Not in the catalog yet, noted as suggestions: unicornfish.",
        ]
    )
    # That was the only image, and it is not offered again to the one who labelled it.
    expect(page.get_by_role("heading", name="Nothing to label right now")).to_be_visible()

    assert list(ImageLabel.objects.filter(image=image).values_list("label__name", flat=True)) == [
        "dog"
    ]
    suggestion = LabelSuggestion.objects.get()
    assert (suggestion.term, suggestion.text, suggestion.use_count) == (
        "unicornfish",
        "unicornfish",
        1,
    )
    assert list(suggestion.uses.values_list("image", flat=True)) == [image.pk]
    visit = LabellingVisit.objects.get()
    assert (visit.image, visit.skipped) == (image, False)


def test_skipping_an_image_moves_on_and_is_remembered(page):
    images = {str(ImageFactory(status=ImageStatus.UNLOCKED).pk) for _ in range(2)}

    page.goto("/label/")
    first = shown_image_id(page)
    assert first in images
    (second,) = images - {first}

    page.get_by_role("button", name="Skip image").click()
    expect(page.locator('#label-form input[name="image"]')).to_have_value(second)

    visit = LabellingVisit.objects.get()
    assert (str(visit.image_id), visit.skipped) == (first, True)
    assert not ImageLabel.objects.exists()
    assert not LabelSuggestion.objects.exists()

    page.get_by_role("button", name="Skip image").click()
    expect(page.get_by_role("heading", name="Nothing to label right now")).to_be_visible()
    assert sorted(LabellingVisit.objects.values_list("skipped", flat=True)) == [True, True]
    assert {str(pk) for pk in LabellingVisit.objects.values_list("image", flat=True)} == images


# --- Validation ------------------------------------------------------------------------------


def test_passed_voter_answers_with_keys_without_page_loads_and_the_votes_count(page, live_server):
    voter = VoterFactory()
    dog = ImageLabelFactory(label=LabelFactory(name="dog"))
    cat = ImageLabelFactory(label=LabelFactory(name="cat"))
    log_in_as(page, live_server, voter)

    page.goto("/validate/")
    expect(page.locator("#training-note")).to_have_count(0)
    page.evaluate("() => { window.__marker = 'same page'; }")
    first = task_on_screen(page)
    second = cat if first == dog else dog
    expect(page.locator("#question")).to_have_text(f"Does this image show a {first.label.name}?")

    page.keyboard.press("y")
    expect(page.locator("#question")).to_have_text(f"Does this image show a {second.label.name}?")
    expect(page.locator("#image-label-id")).to_have_value(str(second.pk))

    page.keyboard.press("n")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#vote-form")).to_be_hidden()
    expect(page.locator("#feedback")).to_have_text("")

    assert page.evaluate("() => window.__marker") == "same page"
    votes = {vote.image_label_id: vote for vote in Vote.objects.all()}
    assert {pk: vote.answer for pk, vote in votes.items()} == {
        first.pk: Answer.YES,
        second.pk: Answer.NO,
    }
    assert all(vote.contributor == voter and vote.counted for vote in votes.values())
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.yes_count, first.counted_votes, first.evidence > 0) == (1, 1, True)
    assert (second.no_count, second.counted_votes, second.evidence < 0) == (1, 1, True)


def test_newcomer_gets_training_feedback_and_passes_training(page, settings):
    settings.TRAINING_MIN_GOLD = 2
    # Two of two right has a Wilson lower bound of 2/3 at z=1, under the default bound of 0.8.
    settings.TRAINING_ACCURACY_BOUND = 0.6
    settings.GOLD_RATE_TRAINING = 1.0
    GoldImageLabelFactory(label=LabelFactory(name="dog"), gold_answer=Answer.YES)
    GoldImageLabelFactory(label=LabelFactory(name="cat"), gold_answer=Answer.NO)
    keys = {Answer.YES: "y", Answer.NO: "n"}

    page.goto("/validate/")
    expect(page.locator("#training-note")).to_be_visible()
    first = task_on_screen(page)
    assert first.is_gold
    page.keyboard.press(keys[first.gold_answer])
    expect(page.locator("#feedback")).to_have_text(f"Right — the answer was “{first.gold_answer}”.")
    # The verdict stays with the photo it is about until the trainee goes on.
    expect(page.locator("#image-label-id")).to_have_value(str(first.pk))
    page.get_by_role("button", name="Next question").click()

    expect(page.locator("#image-label-id")).not_to_have_value(str(first.pk))
    second = task_on_screen(page)
    assert second.is_gold
    assert second.gold_answer != first.gold_answer
    page.keyboard.press(keys[second.gold_answer])
    expect(page.locator("#feedback")).to_have_text(
        f"Right — the answer was “{second.gold_answer}”. {TRAINING_PASSED}"
    )
    expect(page.locator("#training-note")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#feedback")).to_have_text(TRAINING_PASSED)

    (contributor_id,) = set(Vote.objects.values_list("contributor", flat=True))
    contributor = Contributor.objects.get(pk=contributor_id)
    assert contributor.user is None
    assert contributor.votes_counted
    assert contributor.training_passed_at is not None
    assert (contributor.gold_answered, contributor.gold_correct) == (2, 2)
    assert sorted(
        Vote.objects.values_list("image_label", "answer", "on_gold", "counted")
    ) == sorted(
        # Answers on gold count like any once training passed (gold must look like any item).
        [(first.pk, first.gold_answer, True, True), (second.pk, second.gold_answer, True, True)]
    )


def test_grid_answers_tapped_tiles_no_and_the_rest_yes(page):
    dog = LabelFactory(name="dog")
    open_items = ImageLabelFactory.create_batch(5, label=dog)

    page.goto("/validate/grid/?label=dog")
    tiles = page.locator(".grid-tile")
    expect(tiles).to_have_count(5)
    for index in (1, 3):
        tiles.nth(index).locator("label").click()
    for index in range(5):
        toggle = tiles.nth(index).locator("input.grid-toggle")
        mark = tiles.nth(index).locator(".grid-mark")
        if index in (1, 3):
            expect(toggle).to_be_checked()
            expect(mark).to_be_visible()
        else:
            expect(toggle).not_to_be_checked()
            expect(mark).to_be_hidden()
    not_shown = {
        int(tiles.nth(index).locator("input.grid-toggle").get_attribute("value"))
        for index in (1, 3)
    }

    page.get_by_role("button", name="Submit 5 answers").click()
    expect(page.locator(".messages .message")).to_have_text("Thank you! 5 answers saved.")
    expect(page.get_by_text("Nothing left to validate for “dog”.")).to_be_visible()

    answers = dict(Vote.objects.values_list("image_label", "answer"))
    assert answers == {
        item.pk: Answer.NO if item.pk in not_shown else Answer.YES for item in open_items
    }
    assert len(set(Vote.objects.values_list("contributor", flat=True))) == 1


def test_phone_voter_taps_yes_and_gets_the_next_question(phone_page):
    dog = ImageLabelFactory(label=LabelFactory(name="dog"))
    cat = ImageLabelFactory(label=LabelFactory(name="cat"))

    phone_page.goto("/validate/")
    buttons = phone_page.locator(".vote-buttons .vote")
    expect(buttons).to_have_count(3)
    for button in buttons.all():
        assert button.bounding_box()["height"] >= 44, button.text_content()
    first = task_on_screen(phone_page)
    second = cat if first == dog else dog

    phone_page.locator(".vote-yes").tap()
    expect(phone_page.locator("#question")).to_contain_text(second.label.name)
    expect(phone_page.locator("#image-label-id")).to_have_value(str(second.pk))

    vote = Vote.objects.get()
    assert (vote.image_label_id, vote.answer, vote.counted) == (first.pk, Answer.YES, False)
