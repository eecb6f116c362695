"""Accessibility: axe-core, run in the browser, on every page a visitor or a moderator can open —
with content on it, empty, and in the states a task passes through (verdicts, messages, errors).

Only "serious" and "critical" findings fail a test; the assertion message lists each one with
the elements it found, so a failure says what to fix.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from annotations.services import annotation_gold_mark
from donations.models import ImageStatus
from labels_app.models import Answer
from tests import image_files
from tests.factories import (
    AnnotationTaskFactory,
    ContributorFactory,
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    RefinementFactory,
    RegisteredContributorFactory,
    submitted_annotation,
)

from .accounts import sign_in
from .test_tasks import log_in_as

pytestmark = pytest.mark.django_db(transaction=True)

SEVERE = {"serious", "critical"}
NOT_FOUND = "/no-such-page/"
RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
AXE = Axe()


def severe_violations(page, context: dict | None = None) -> list[dict]:
    results = AXE.run(page, context=context)
    return [v for v in results.response["violations"] if v["impact"] in SEVERE]


def report(violations: list[dict]) -> str:
    lines = [f"{len(violations)} serious or critical accessibility violation(s):"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            message = checks[0]["message"] if checks else ""
            lines.append(f"    {', '.join(map(str, node['target']))}: {message}")
            lines.append(f"      {node['html'][:160]}")
    return "\n".join(lines)


def assert_accessible(page, context: dict | None = None) -> None:
    violations = severe_violations(page, context)
    assert not violations, f"{page.url}\n{report(violations)}"


def visit(page, path: str, ready: str | None = None) -> None:
    """Open a page and wait until its script has filled it in (a task, a grid, an editor)."""
    response = page.goto(path)
    assert response.status == (404 if path == NOT_FOUND else 200), (path, response.status)
    if ready:
        expect(page.locator(ready).first).to_be_visible()


@pytest.fixture
def content(db):
    """A site with something on every page: labels, open questions, gold, outlines to review,
    quiz questions, objects to outline, public and pending donations."""
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    public = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(image=public, label=dog)
    for _ in range(3):
        ImageLabelFactory(label=dog)
    ImageLabelFactory(label=cat)
    GoldImageLabelFactory(label=cat, gold_answer=Answer.NO)
    RefinementFactory(name="colour", values=["red", "blue", "black"], applies_to=["*"])
    car = LabelFactory(name="car")
    outlined = submitted_annotation(shapes=[RECT], label=car)
    submitted_annotation(shapes=[RECT], label=car)
    AnnotationTaskFactory(label=dog)
    AnnotationTaskFactory(label=LabelFactory(name="tree"))
    ImageFactory(status=ImageStatus.UNLOCKED)
    return {"public": public, "annotated": outlined.image_label.image}


PUBLIC_PAGES = {
    "home": ("/", None),
    "donate": ("/donate/", None),
    "gallery": ("/images/", ".image-tile"),
    "image": ("/images/{public}/", ".image-full"),
    "image-with-outlines": ("/images/{annotated}/", ".annotation-toggle"),
    "label": ("/label/", "#label-input"),
    "validate": ("/validate/", "#task-image"),
    "validate-grid": ("/validate/grid/?label=dog", ".grid-tile"),
    "validate-grid-unknown-label": ("/validate/grid/?label=dgo", "#unknown-label"),
    "annotate": ("/annotate/", "#annotate-editor"),
    "annotate-browse": ("/annotate/browse/", ".label-picker"),
    "annotate-browse-label": ("/annotate/browse/?label=dog", ".image-tile"),
    "annotate-review": ("/annotate/review/", "#review-form"),
    "quiz": ("/annotate/quiz/", "#quiz-form"),
    "gallery-search-mistake": ("/images/?q=car%20%26", ".query-error"),
    "export": ("/datasets/export/", None),
    "export-preview": ("/datasets/export/?query=car", "#export-samples"),
    "export-mistake": ("/datasets/export/?query=car%20%26%20%26", "#export-error"),
    "report": ("/report/?image={public}", ".report-preview"),
    "sign-up": ("/accounts/signup/", None),
    "log-in": ("/accounts/login/", None),
    "password-reset": ("/accounts/password/reset/", None),
    "not-found": (NOT_FOUND, None),
}


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_page_with_content_has_no_serious_violations(page, content, name):
    path, ready = PUBLIC_PAGES[name]
    visit(page, path.format(**{key: image.pk for key, image in content.items()}), ready)
    assert_accessible(page)


# The pages whose layout changes on a phone (menu, stacked columns, task buttons).
PHONE_PAGES = ["home", "donate", "image", "validate", "validate-grid", "annotate"]
PHONE_PAGES += ["annotate-review", "quiz", "sign-up", "export-preview", "report"]


@pytest.mark.parametrize("name", PHONE_PAGES)
def test_public_page_on_a_phone_has_no_serious_violations(phone_page, content, name):
    path, ready = PUBLIC_PAGES[name]
    visit(phone_page, path.format(**{key: image.pk for key, image in content.items()}), ready)
    assert_accessible(phone_page)


EMPTY_PAGES = {
    "home": ("/", None),
    "gallery": ("/images/", ".image-grid .empty"),
    "label": ("/label/", None),
    "validate": ("/validate/", None),
    "validate-grid": ("/validate/grid/", None),
    "validate-grid-unknown-label": ("/validate/grid/?label=dgo", "#unknown-label"),
    "annotate": ("/annotate/", "#annotate-empty"),
    "annotate-browse": ("/annotate/browse/", None),
    "annotate-review": ("/annotate/review/", None),
    "quiz": ("/annotate/quiz/", None),
    "export": ("/datasets/export/?query=", None),
}


@pytest.mark.parametrize("name", EMPTY_PAGES)
def test_empty_page_has_no_serious_violations(page, name):
    visit(page, *EMPTY_PAGES[name])
    assert_accessible(page)


def test_api_docs_page_has_no_serious_violations_outside_swagger_ui(page):
    """The Swagger UI widget is drf-spectacular-sidecar's bundle (its own markup nests buttons
    in buttons); the page around it is ours."""
    visit(page, "/api/docs/", ".swagger-ui .info")
    assert_accessible(page, {"exclude": [["#swagger-ui"]]})


# --- States a page passes through -------------------------------------------------------------


def test_validate_page_with_a_training_verdict_on_screen_has_no_serious_violations(page, settings):
    settings.GOLD_RATE_TRAINING = 1.0
    GoldImageLabelFactory(label=LabelFactory(name="dog"), gold_answer=Answer.YES)
    ImageLabelFactory(label=LabelFactory(name="cat"))

    visit(page, "/validate/", "#task-image")
    page.keyboard.press("n")
    expect(page.get_by_role("button", name="Next question")).to_be_visible()
    assert_accessible(page)


def test_review_page_with_a_verdict_about_the_last_outline_has_no_serious_violations(
    page, settings
):
    settings.GOLD_RATE_TRAINING = 1.0
    annotation_gold_mark(annotation=submitted_annotation(shapes=[RECT]), answer="bad", by=None)
    submitted_annotation(shapes=[RECT])

    visit(page, "/annotate/review/", "#review-form")
    page.keyboard.press("g")
    expect(page.locator("#training-feedback")).to_be_visible()
    assert_accessible(page)


def test_messages_and_form_errors_have_no_serious_violations(page):
    LabelFactory(name="dog")
    ImageFactory(status=ImageStatus.UNLOCKED)

    visit(page, "/label/", "#label-input")
    page.locator("#label-input").fill("dog, unicornfish")
    page.get_by_role("button", name="Add labels").click()
    expect(page.locator(".messages .message").first).to_be_visible()
    assert_accessible(page)

    visit(page, "/accounts/signup/")
    page.get_by_label("Username").fill("monkey")
    page.locator("#id_password1").fill("123")
    page.locator("#id_password2").fill("124")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    assert_accessible(page)


def test_donate_page_with_upload_results_has_no_serious_violations(page):
    visit(page, "/donate/")
    page.locator('input[type="file"][name="files"]').set_input_files(
        [
            {"name": "ok.jpg", "mimeType": "image/jpeg", "buffer": image_files.jpeg(320, 240, 4)},
            {"name": "bad.jpg", "mimeType": "image/jpeg", "buffer": image_files.NOT_AN_IMAGE},
        ]
    )
    page.locator('input[name="cc0"]').check()
    page.get_by_role("button", name="Donate").click()
    expect(page.locator("#upload-list .upload-failed")).to_be_visible()
    expect(page.locator("#upload-list .upload-ok")).to_be_visible()
    assert_accessible(page)


# --- A contributor's own pages ------------------------------------------------------------------


def test_donors_pages_have_no_serious_violations(page, live_server):
    donor = ContributorFactory()
    pending = ImageFactory(donor=donor)
    ImageFactory(donor=donor, status=ImageStatus.UNLOCKED)
    log_in_as(page, live_server, donor)

    visit(page, "/images/mine/", ".status-badge")
    assert_accessible(page)
    visit(page, f"/images/{pending.pk}/", ".status-banner")
    assert_accessible(page)


def test_empty_my_donations_has_no_serious_violations(page, live_server):
    log_in_as(page, live_server, ContributorFactory())
    visit(page, "/images/mine/", ".image-grid .empty")
    assert_accessible(page)


def test_account_pages_have_no_serious_violations(page):
    contributor = RegisteredContributorFactory()
    sign_in(page, contributor.user.username)
    assert_accessible(page)  # the profile with no tokens yet

    page.get_by_label("Token name").fill("uploader")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    assert_accessible(page)  # a new key shown once, with its copy button, and the token table

    visit(page, "/accounts/password/change/")
    assert_accessible(page)


# --- The moderator's pages ---------------------------------------------------------------------


def test_moderator_pages_have_no_serious_violations(page):
    original = ImageFactory(status=ImageStatus.UNLOCKED)
    pending = ImageFactory(near_duplicate_of=original, near_duplicate_distance=2)
    ImageFactory()
    sign_in(page, ModeratorFactory().username, admin=True)
    assert_accessible(page)  # the admin index

    visit(page, "/admin/donations/image/review/", ".review-card")
    assert_accessible(page)
    visit(page, "/admin/donations/image/", "#result_list")
    assert_accessible(page)
    visit(page, f"/admin/donations/image/{pending.pk}/change/", ".im-admin-large")
    assert_accessible(page)


def test_empty_review_grid_has_no_serious_violations(page):
    sign_in(page, ModeratorFactory().username, admin=True)
    visit(page, "/admin/donations/image/review/")
    expect(page.get_by_text("Nothing is waiting for review.")).to_be_visible()
    assert_accessible(page)
