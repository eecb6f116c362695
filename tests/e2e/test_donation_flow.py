"""The donation journey in a real browser: donate, wait for review, get unlocked, be public."""

import io
import re

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from contributors.models import Contributor
from donations.models import Image, ImageStatus
from tests import image_files
from tests.factories import ModeratorFactory

from .conftest import PASSWORD

GPS_IFD = 0x8825
CC0_REQUIRED = "Please confirm the CC0 public-domain dedication"


def file_payload(name: str, data: bytes, mime_type: str = "image/jpeg") -> dict:
    return {"name": name, "mimeType": mime_type, "buffer": data}


def donate(page, *files, confirm_cc0: bool = True) -> None:
    """Choose files on the donate page, optionally tick CC0, and press Donate."""
    page.locator('input[type="file"][name="files"]').set_input_files(list(files))
    if confirm_cc0:
        page.locator('input[name="cc0"]').check()
    page.get_by_role("button", name="Donate").click()


def wait_until_loaded(page, image_locator) -> int:
    """Wait for an <img> to finish loading and return its natural width (0 if it is broken)."""
    image_locator.scroll_into_view_if_needed()
    image_locator.evaluate(
        "img => img.complete ? null : new Promise(done => {"
        "  img.addEventListener('load', done, {once: true});"
        "  img.addEventListener('error', done, {once: true});"
        "})"
    )
    return image_locator.evaluate("img => img.naturalWidth")


def test_anonymous_donation_is_pending_until_a_moderator_unlocks_it(new_page, page):
    # An anonymous visitor donates a photo that carries a GPS position.
    page.goto("/donate/")
    donate(page, file_payload("holiday.jpg", image_files.jpeg_with_gps()))

    result = page.locator("#upload-list .upload-item", has_text="holiday.jpg")
    expect(result).to_have_class(re.compile(r"\bupload-ok\b"))
    expect(result.locator(".upload-status")).to_have_text("Received — pending review.")

    image = Image.objects.get()
    assert image.status == ImageStatus.PENDING
    assert isinstance(image.donor, Contributor)
    assert image.donor.user is None
    assert image.cc0_confirmed
    with image.file.open("rb") as stored:
        assert not PILImage.open(io.BytesIO(stored.read())).getexif().get_ifd(GPS_IFD)

    result.get_by_role("link", name="View your donation").click()
    expect(page).to_have_url(re.compile(rf"/images/{image.pk}/$"))
    expect(page.get_by_role("status")).to_contain_text("Pending review:")

    # Until it is reviewed the gallery does not show it, not even to its donor.
    page.goto("/images/")
    expect(page.get_by_role("heading", name="Gallery")).to_be_visible()
    expect(page.locator(f'a[href="/images/{image.pk}/"]')).to_have_count(0)
    expect(page.locator(".image-grid .empty")).to_be_visible()

    # A moderator, in a browser of their own, unlocks it from the keyboard review grid.
    moderator = ModeratorFactory()
    admin = new_page()
    admin.goto("/admin/login/")
    admin.get_by_label("Username").fill(moderator.username)
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    expect(admin).to_have_url(re.compile(r"/admin/$"))

    admin.goto("/admin/donations/image/review/")
    card = admin.locator(f'li.review-card[data-image-id="{image.pk}"]')
    expect(card).to_be_focused()
    admin.keyboard.press("u")
    expect(card).to_have_class(re.compile(r"\bdecided\b"))
    expect(admin.locator("#review-status")).to_have_text(f"Image {image.pk} unlocked.")

    image.refresh_from_db()
    assert image.status == ImageStatus.UNLOCKED
    assert image.reviewed_by == moderator
    assert image.reviewed_at is not None

    # Now everyone sees it in the gallery, thumbnail and all.
    page.goto("/images/")
    tile = page.locator(f'.image-tile a[href="/images/{image.pk}/"]')
    expect(tile).to_be_visible()
    assert wait_until_loaded(page, tile.locator("img")) > 0

    visitor = new_page()
    visitor.goto("/images/")
    visitor_tile = visitor.locator(f'.image-tile a[href="/images/{image.pk}/"]')
    expect(visitor_tile).to_be_visible()
    assert wait_until_loaded(visitor, visitor_tile.locator("img")) > 0
    visitor_tile.click()
    expect(visitor).to_have_url(re.compile(rf"/images/{image.pk}/$"))
    expect(visitor.locator(".status-banner")).to_have_count(0)


def test_refused_donations_show_why_and_store_nothing(page, stored_files):
    api_calls = []
    page.on(
        "request",
        lambda request: api_calls.append(request.url) if "/api/donations/" in request.url else None,
    )

    # Without the CC0 dedication the page refuses before anything is sent.
    page.goto("/donate/")
    donate(page, file_payload("holiday.jpg", image_files.jpeg_with_gps()), confirm_cc0=False)
    error = page.locator("#client-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(CC0_REQUIRED)
    expect(page.locator('input[name="cc0"]')).to_be_focused()
    expect(page.locator(".upload-ok, .upload-failed")).to_have_count(0)
    assert api_calls == []
    assert Image.objects.count() == 0
    assert stored_files() == []

    # A document disguised as a photo is sent, refused by the server, and explained.
    page.goto("/donate/")
    donate(page, file_payload("fake.jpg", image_files.NOT_AN_IMAGE))
    failed = page.locator("#upload-list .upload-item", has_text="fake.jpg")
    expect(failed).to_have_class(re.compile(r"\bupload-failed\b"))
    expect(failed.locator(".upload-status")).to_contain_text("not a supported image")
    expect(failed.get_by_role("link")).to_have_count(0)
    assert len(api_calls) == 1
    assert Image.objects.count() == 0
    assert stored_files() == []


@pytest.mark.parametrize("path", ["/", "/donate/", "/images/"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(phone_page, path):
    response = phone_page.goto(path)
    assert response.ok
    widths = phone_page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["inner"] == 390
    assert widths["scroll"] <= widths["inner"], widths

    # The menu is one line that scrolls sideways: every link can be scrolled into view.
    nav = phone_page.get_by_role("navigation", name="Main")
    for name in ["ImageMonkey", "Donate", "Gallery", "API", "Log in", "Sign up"]:
        link = nav.get_by_role("link", name=name)
        expect(link).to_be_visible()
        link.scroll_into_view_if_needed()
        expect(link).to_be_in_viewport()


def test_donate_page_works_under_its_content_security_policy(page):
    csp_errors = []
    page.on(
        "console",
        lambda message: (
            csp_errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )

    response = page.goto("/donate/")
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-eval" not in policy

    # Use the page: the client-side check, then a real upload through the API.
    donate(page, file_payload("holiday.jpg", image_files.jpeg_with_gps()), confirm_cc0=False)
    expect(page.locator("#client-error")).to_contain_text(CC0_REQUIRED)
    page.locator('input[name="cc0"]').check()
    page.get_by_role("button", name="Donate").click()
    result = page.locator("#upload-list .upload-item", has_text="holiday.jpg")
    expect(result).to_have_class(re.compile(r"\bupload-ok\b"))
    result.get_by_role("link", name="View your donation").click()
    expect(page.locator("img.image-full")).to_be_visible()
    assert wait_until_loaded(page, page.locator("img.image-full")) > 0

    assert csp_errors == []

    # The listener does see violations: an inline script is refused and reported.
    page.goto("/donate/")
    with page.expect_console_message(
        lambda message: message.type == "error" and "Content Security Policy" in message.text
    ):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.inlineScriptRan = true;';"
            " document.body.append(s); }"
        )
    assert page.evaluate("() => window.inlineScriptRan === undefined")
    assert len(csp_errors) == 1
