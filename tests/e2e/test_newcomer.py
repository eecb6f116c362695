"""What a newcomer meets first, in a real browser: the pending photo, training verdicts, keys,
announcements, the phone layout, the API key copy button and the moderator's preview."""

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from annotations.models import AnnotationVote
from annotations.services import annotation_gold_mark
from donations.ingest import image_process
from donations.models import Image, ImageStatus
from donations.services import image_files_store
from labels_app.models import Answer
from tests import image_files
from tests.factories import (
    ContributorFactory,
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    VoterFactory,
    submitted_annotation,
)
from validations.models import Vote

from .accounts import sign_in
from .test_tasks import log_in_as, task_on_screen

pytestmark = pytest.mark.django_db(transaction=True)

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
KEYS = {Answer.YES: "y", Answer.NO: "n"}
WRONG_KEYS = {Answer.YES: "n", Answer.NO: "y"}


def box(page, selector: str) -> dict[str, float]:
    return page.locator(selector).bounding_box()


# --- The pending image page ------------------------------------------------------------------


def open_own_pending_image(page, live_server):
    donor = ContributorFactory()
    image = ImageFactory(donor=donor)
    log_in_as(page, live_server, donor)
    page.goto(f"/images/{image.pk}/")
    expect(page.get_by_role("status")).to_contain_text("Pending review")
    return image


def test_pending_image_page_gives_the_photo_the_wide_column_under_the_banner(page, live_server):
    open_own_pending_image(page, live_server)

    banner, photo = box(page, ".status-banner"), box(page, ".image-full")
    details, main = box(page, ".image-meta"), box(page, "#main")

    assert banner["width"] > 0.9 * (photo["width"] + details["width"])
    assert banner["height"] < 80, "the banner is one line, not a column stretched to the photo"
    assert photo["y"] >= banner["y"] + banner["height"]
    assert photo["width"] > 1.5 * details["width"]
    assert photo["x"] < details["x"]
    assert photo["width"] > 0.55 * main["width"]


def test_pending_image_page_on_a_phone_stacks_banner_photo_and_details(phone_page, live_server):
    open_own_pending_image(phone_page, live_server)

    banner, photo = box(phone_page, ".status-banner"), box(phone_page, ".image-full")
    details = box(phone_page, ".image-meta")

    assert photo["width"] > 330  # the screen's width less the page margins
    assert banner["y"] + banner["height"] <= photo["y"]
    assert photo["y"] + photo["height"] <= details["y"]


# --- Training verdicts stay with the photo they are about -------------------------------------


def two_gold_questions(settings):
    settings.GOLD_RATE_TRAINING = 1.0
    GoldImageLabelFactory(label=LabelFactory(name="dog"), gold_answer=Answer.YES)
    GoldImageLabelFactory(label=LabelFactory(name="cat"), gold_answer=Answer.NO)


def test_training_verdict_stays_with_its_photo_until_the_trainee_goes_on(page, settings):
    two_gold_questions(settings)

    page.goto("/validate/")
    first = task_on_screen(page)
    photo = page.locator("#task-image").get_attribute("src")
    page.keyboard.press(WRONG_KEYS[first.gold_answer])

    feedback = page.locator("#feedback")
    expect(feedback).to_have_text(f"Not quite — the right answer was “{first.gold_answer}”.")
    # The question and photo on screen are still the ones the verdict is about.
    expect(page.locator("#question")).to_have_text(first.question)
    expect(page.locator("#task-image")).to_have_attribute("src", photo)
    expect(page.locator("#image-label-id")).to_have_value(str(first.pk))
    expect(page.locator("#vote-form")).to_be_hidden()
    go_on = page.get_by_role("button", name="Next question")
    expect(go_on).to_be_focused()

    # Answer keys do nothing while the verdict is shown; Enter goes on.
    page.keyboard.press("y")
    page.keyboard.press("Enter")
    expect(page.locator("#image-label-id")).not_to_have_value(str(first.pk))
    second = task_on_screen(page)
    expect(page.locator("#question")).to_have_text(second.question)
    expect(feedback).to_have_text("")
    expect(go_on).to_be_hidden()
    expect(page.locator("#vote-form")).to_be_visible()
    assert list(Vote.objects.values_list("image_label", flat=True)) == [first.pk]


def test_training_verdict_moves_on_by_tapping_next_question_on_a_phone(phone_page, settings):
    two_gold_questions(settings)

    phone_page.goto("/validate/")
    first = task_on_screen(phone_page)
    phone_page.locator(".vote-yes" if first.gold_answer == Answer.YES else ".vote-no").tap()

    expect(phone_page.locator("#feedback")).to_have_text(
        f"Right — the answer was “{first.gold_answer}”."
    )
    expect(phone_page.locator("#question")).to_have_text(first.question)
    phone_page.get_by_role("button", name="Next question").tap()
    expect(phone_page.locator("#image-label-id")).not_to_have_value(str(first.pk))


def test_review_verdict_after_the_reload_shows_the_outline_it_is_about(page, settings):
    settings.GOLD_RATE_TRAINING = 1.0  # (a newcomer meets gold often, not always first)
    judged = annotation_gold_mark(
        annotation=submitted_annotation(shapes=[RECT]), answer="bad", by=None
    )
    waiting = submitted_annotation(shapes=[RECT])

    page.goto("/annotate/review/")
    expect(page.locator('#review-form input[name="annotation"]')).to_have_value(str(judged.pk))
    page.keyboard.press("g")

    feedback = page.locator("#training-feedback")
    expect(feedback).to_contain_text("About the photo you just answered (shown here)")
    expect(feedback).to_contain_text("Not quite — the right answer was “bad”.")
    thumbnail = feedback.get_by_role("img", name="The photo you just answered")
    expect(thumbnail).to_have_attribute("src", f"/images/{judged.image_label.image_id}/file/small")
    expect(feedback.locator("svg rect")).to_have_count(1)
    expect(page.locator('#review-form input[name="annotation"]')).to_have_value(str(waiting.pk))


# --- Grid link, keys and announcements ----------------------------------------------------------


def test_grid_mode_link_follows_each_new_question(page, live_server):
    log_in_as(page, live_server, VoterFactory())
    ImageLabelFactory(label=LabelFactory(name="dog"))
    ImageLabelFactory(label=LabelFactory(name="cat"))

    page.goto("/validate/")
    first = task_on_screen(page)
    link = page.locator("#grid-link")
    expect(link).to_have_text(f"Grid mode for “{first.label.name}”")
    page.keyboard.press("y")

    expect(page.locator("#image-label-id")).not_to_have_value(str(first.pk))
    second = task_on_screen(page)
    expect(link).to_have_text(f"Grid mode for “{second.label.name}”")
    expect(link).to_have_attribute("href", f"/validate/grid/?label={second.label.name}")


def test_each_new_question_is_announced_to_screen_readers(page, live_server):
    log_in_as(page, live_server, VoterFactory())
    ImageLabelFactory(label=LabelFactory(name="dog"))
    ImageLabelFactory(label=LabelFactory(name="cat"))

    page.goto("/validate/")
    announcer = page.locator("#question-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    first = task_on_screen(page)
    page.keyboard.press("n")

    expect(page.locator("#image-label-id")).not_to_have_value(str(first.pk))
    expect(announcer).to_have_text(f"Next question: {task_on_screen(page).question}")
    page.keyboard.press("n")
    expect(announcer).to_have_text("Nothing to validate right now.")


def test_space_on_a_focused_answer_button_presses_that_button_when_validating(page, live_server):
    log_in_as(page, live_server, VoterFactory())
    item = ImageLabelFactory(label=LabelFactory(name="dog"))

    page.goto("/validate/")
    page.locator(".vote-yes").focus()
    page.keyboard.press(" ")

    expect(page.locator("#done")).to_be_visible()
    assert Vote.objects.get().answer == Answer.YES
    assert Vote.objects.get().image_label == item


def test_space_anywhere_else_still_answers_not_sure(page, live_server):
    log_in_as(page, live_server, VoterFactory())
    ImageLabelFactory(label=LabelFactory(name="dog"))

    page.goto("/validate/")
    page.keyboard.press(" ")

    expect(page.locator("#done")).to_be_visible()
    assert Vote.objects.get().answer == Answer.UNSURE


def test_space_on_a_focused_review_button_presses_that_button(page, live_server):
    log_in_as(page, live_server, VoterFactory())
    submitted_annotation(shapes=[RECT])

    page.goto("/annotate/review/")
    page.get_by_role("button", name="Good").focus()
    page.keyboard.press(" ")

    expect(page.get_by_role("heading", name="Nothing to review right now")).to_be_visible()
    assert AnnotationVote.objects.get().answer == "good"


# --- Phones -----------------------------------------------------------------------------------


def test_phone_menu_is_one_line_with_every_link_in_reach(phone_page):
    contributor = RegisteredContributorFactory()  # so "My donations" joins the menu too
    sign_in(phone_page, contributor.user.username)

    phone_page.goto("/validate/")
    header = box(phone_page, ".site-header")
    assert header["height"] <= 64, header

    nav = phone_page.get_by_role("navigation", name="Main")
    names = ["Validate", "Label", "Annotate", "Donate", "Gallery", "My donations", "API"]
    for name in [*names, contributor.user.username]:
        link = nav.get_by_role("link", name=name)
        link.scroll_into_view_if_needed()
        expect(link).to_be_in_viewport()
    log_out = nav.get_by_role("button", name="Log out")
    log_out.scroll_into_view_if_needed()
    expect(log_out).to_be_in_viewport()
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_key_hints_show_with_a_keyboard_and_not_on_touch_screens(page, phone_page):
    ImageLabelFactory(label=LabelFactory(name="dog"))

    page.goto("/validate/")
    phone_page.goto("/validate/")

    expect(page.locator(".keys-hint")).to_be_visible()
    expect(page.locator(".vote-yes kbd")).to_be_visible()
    expect(phone_page.locator(".keys-hint")).to_be_hidden()
    for selector in (".vote-yes kbd", ".vote-no kbd", ".vote-unsure kbd", "#skip-button kbd"):
        expect(phone_page.locator(selector)).to_be_hidden()


def test_donate_labels_help_text_is_not_broken_mid_word_on_a_phone(phone_page):
    phone_page.goto("/donate/")

    field = box(phone_page, "#id_labels")
    help_text = phone_page.locator(".donate-labels .helptext")
    form = box(phone_page, "#donate-form")

    # Squeezed beside the field, "Comma-separated" broke at its hyphen; below it, it fits.
    assert help_text.bounding_box()["y"] >= field["y"] + field["height"]
    assert help_text.bounding_box()["x"] == pytest.approx(field["x"], abs=1)
    assert field["width"] > 0.9 * form["width"]


# --- API key copy button and the moderator's preview ------------------------------------------


def test_new_api_key_is_copied_with_the_copy_button_and_shown_only_once(new_page):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    contributor = RegisteredContributorFactory()
    sign_in(page, contributor.user.username)

    page.get_by_label("Token name").fill("uploader")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-token-key").text_content()
    page.get_by_role("button", name="Copy").click()

    # Headless Chromium settles a clipboard write late on a loaded machine (5 s ran out once).
    expect(page.locator("#copy-token-status")).to_have_text("Copied.", timeout=20_000)
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    page.reload()
    expect(page.locator("#new-token-key")).to_have_count(0)
    assert contributor.user.api_tokens.count() == 1


def large_pending_image() -> Image:
    """A pending image with the site's real thumbnail sizes (the factory's are tiny)."""
    processed = image_process(
        data=image_files.jpeg(2000, 1500, 3),
        max_bytes=10**8,
        max_pixels=10**8,
        jpeg_quality=85,
        thumbnail_sizes=django_settings.DONATION_THUMBNAIL_SIZES,
    )
    image = Image(**processed.image_fields(), donor=ContributorFactory(), cc0_confirmed=True)
    for field_name, name in image_files_store(image_id=image.pk, processed=processed).items():
        setattr(image, field_name, name)
    image.save()
    return image


def test_admin_preview_of_a_large_photo_fits_the_change_page(new_page):
    page = new_page(viewport={"width": 1024, "height": 768})
    image = large_pending_image()
    sign_in(page, ModeratorFactory().username, admin=True)

    page.goto(f"/admin/donations/image/{image.pk}/change/")
    preview = page.get_by_role("img", name=f"Image {image.pk}, open full size")
    expect(preview).to_be_visible()
    natural = preview.evaluate(
        "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"
    )
    shown = preview.bounding_box()
    column = page.locator(".field-large_preview").bounding_box()

    assert natural[0] > column["width"]  # shown whole, it would not fit
    assert shown["x"] + shown["width"] <= column["x"] + column["width"] + 1
    assert shown["width"] / shown["height"] == pytest.approx(natural[0] / natural[1], rel=0.02)
    assert image.status == ImageStatus.PENDING
