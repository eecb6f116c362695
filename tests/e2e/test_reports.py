"""Reporting an image in a browser, and the moderator deciding in the admin with one key."""

import re

import pytest
from playwright.sync_api import expect

from donations.models import Image, ImageStatus
from moderation.models import CaseState, Report, ReportCase, Revert
from moderation.services import report_submit
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    VoterFactory,
    submitted_annotation,
)
from validations.services import record_answer

from .accounts import sign_in
from .test_accessibility import assert_accessible
from .test_tasks import log_in_as

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_visitor_reports_an_image_from_its_page_without_leaving_it(page):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    page.goto(f"/images/{image.pk}/")

    page.get_by_role("link", name="Report this image").click()
    dialog = page.get_by_role("dialog", name="Report this image")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    dialog.get_by_label("Spam or abuse").check()
    dialog.get_by_label("Details").fill("An advert, not a photo")
    dialog.get_by_role("button", name="Send report").click()

    expect(dialog.get_by_role("status")).to_have_text(re.compile("Thank you"))
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="Reported")).to_be_visible()
    assert page.url.endswith(f"/images/{image.pk}/")
    report = Report.objects.get()
    assert (report.reason, report.text, report.case.image_id) == (
        "spam",
        "An advert, not a photo",
        image.pk,
    )


def test_on_a_phone_the_validation_task_reports_the_image_on_screen(
    phone_page, live_server, settings
):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    task = ImageLabelFactory(label=LabelFactory(name="dog"))
    log_in_as(phone_page, live_server, VoterFactory())
    phone_page.goto("/validate/")
    expect(phone_page.locator("#task-image")).to_be_visible()

    phone_page.get_by_role("link", name="Report this image").tap()
    dialog = phone_page.get_by_role("dialog")
    dialog.get_by_role("radio", name="Other").check()
    dialog.get_by_role("button", name="Send report").tap()
    expect(dialog.get_by_role("status")).to_have_text(re.compile("Say what is wrong"))
    assert not Report.objects.exists()

    dialog.get_by_label("Details").fill("Someone's house number is readable")
    dialog.get_by_role("button", name="Send report").tap()

    expect(dialog.get_by_role("status")).to_have_text(re.compile("Thank you"))
    assert Report.objects.get().case.image_id == task.image_id


def test_the_report_page_works_without_javascript(browser, live_server):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"/images/{image.pk}/")
        page.get_by_role("link", name="Report this image").click()
        expect(page).to_have_url(re.compile(r"/report/\?image="))
        form = page.locator("main")  # the closed dialog is outside it
        form.get_by_label("Copyright").check()
        form.get_by_role("button", name="Send report").click()
        expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    finally:
        context.close()
    assert Report.objects.get().reason == "copyright"


def test_a_moderator_works_through_the_queue_with_one_key_per_decision(page):
    spam = ImageFactory(status=ImageStatus.UNLOCKED)
    fine = ImageFactory(status=ImageStatus.UNLOCKED)
    for image, reporters in ((spam, 3), (fine, 1)):
        for number in range(reporters):
            report_submit(
                reporter=ContributorFactory(),
                image_id=image.pk,
                reason="spam",
                network=f"net{number}",
            )
    sign_in(page, ModeratorFactory(is_superuser=True).username, admin=True)

    page.goto("/admin/moderation/reportcase/")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(f"reports on image {spam.pk}")).click()
    expect(page.locator("table.report-list")).to_contain_text("Spam or abuse")
    assert_accessible(page)
    page.wait_for_load_state("load")
    page.keyboard.press("r")

    expect(page.get_by_text("Image removed.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/reportcase/\d+/change/$"))
    page.wait_for_load_state("load")  # the key script is deferred
    page.keyboard.press("d")
    expect(page.get_by_text("Reports dismissed; the image is back.")).to_be_visible()
    assert Image.objects.get(pk=spam.pk).status == ImageStatus.REMOVED
    assert Image.objects.get(pk=fine.pk).status == ImageStatus.UNLOCKED
    assert not ReportCase.objects.filter(state=CaseState.OPEN).exists()

    page.goto("/admin/moderation/moderationaction/")
    expect(page.locator("#result_list")).to_contain_text("Remove")
    assert_accessible(page)
    page.goto("/admin/moderation/ban/add/")
    assert_accessible(page)


def test_reported_from_a_task_page_hidden_at_the_threshold_then_removed_by_a_moderator(
    new_page, live_server, settings
):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    settings.REPORT_HIDE_SCORE = 1.0  # one contributor's report (weight 1) hides
    task = ImageLabelFactory(label=LabelFactory(name="dog"))
    ImageLabelFactory(label=LabelFactory(name="cat"))  # something left to validate after it
    visitor = new_page()
    log_in_as(visitor, live_server, VoterFactory())
    visitor.goto("/validate/?label=dog")
    expect(visitor.locator("#task-image")).to_be_visible()

    visitor.get_by_role("link", name="Report this image").click()
    dialog = visitor.get_by_role("dialog")
    dialog.get_by_label("Sexual content").check()
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("status")).to_have_text(re.compile("Thank you"))

    assert Image.objects.get(pk=task.image_id).status == ImageStatus.HIDDEN
    assert visitor.goto(f"/images/{task.image_id}/").status == 404
    visitor.goto("/images/")
    expect(visitor.locator(f'a[href="/images/{task.image_id}/"]')).to_have_count(0)

    moderator = new_page()
    sign_in(moderator, ModeratorFactory(is_superuser=True).username, admin=True)
    moderator.goto("/admin/moderation/reportcase/")
    moderator.get_by_role("link", name=re.compile(f"reports on image {task.image_id}")).click()
    expect(moderator.locator("table.report-list")).to_contain_text("Sexual content")
    moderator.wait_for_load_state("load")
    moderator.keyboard.press("r")
    expect(moderator.get_by_text("Image removed.")).to_be_visible()
    assert Image.objects.get(pk=task.image_id).status == ImageStatus.REMOVED


def test_a_moderator_previews_a_revert_from_the_contributors_page_and_undoes_it(page):
    vandal = VoterFactory()
    for _ in range(2):
        record_answer(contributor=vandal, image_label=ImageLabelFactory(), answer="no")
    sign_in(page, ModeratorFactory(is_superuser=True).username, admin=True)

    page.goto(f"/admin/contributors/contributor/{vandal.pk}/change/")
    page.get_by_role("link", name="Revert their work…").click()
    expect(page.get_by_role("row", name=re.compile("Labels validated"))).to_contain_text("2")
    assert_accessible(page)
    page.get_by_label("Reason:").fill("Voting against everything")
    page.get_by_role("button", name="Revert their work").click()

    expect(page.get_by_text("Revert started.")).to_be_visible()
    page.reload()
    expect(page.get_by_role("status")).to_contain_text("Done")
    assert_accessible(page)
    page.get_by_role("button", name="Undo this revert").click()
    expect(page.get_by_text("Undo started.")).to_be_visible()
    page.reload()
    expect(page.get_by_role("status")).to_contain_text("Undone")
    assert Revert.objects.get().state == "undone"


def test_an_outline_is_reported_from_the_image_page_through_the_dialog(page):
    rect = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
    outline = submitted_annotation(shapes=[rect], label=LabelFactory(name="car"))
    page.goto(f"/images/{outline.image_label.image_id}/")

    page.get_by_role("link", name="Report this outline").click()
    dialog = page.get_by_role("dialog", name="Report this outline")
    dialog.get_by_label("Wrong content").check()
    dialog.get_by_role("button", name="Send report").click()

    expect(dialog.get_by_role("status")).to_have_text(re.compile("Thank you"))
    assert Report.objects.get().case.annotation_id == outline.pk
