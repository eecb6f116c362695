"""The export page in Chromium: build a query with label suggestions, watch the live count,
start an archive, follow its progress to 100 % and open the downloaded ZIP."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import LabelFactory, submitted_annotation

pytestmark = pytest.mark.django_db(transaction=True)

RECT = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.5, "height": 0.25}


def test_build_a_query_see_the_count_start_an_archive_and_open_it(page):
    dog = LabelFactory(name="dog")
    image = submitted_annotation(label=dog, shapes=[RECT]).image_label.image
    submitted_annotation(label=LabelFactory(name="cat"), shapes=[RECT])

    page.goto("/datasets/export/")
    query = page.locator("#export-query")
    query.fill("do")
    page.locator("#export-options .autocomplete-option", has_text="dog").click()
    expect(query).to_have_value("dog")
    expect(page.locator('#export-count [data-count="images"]')).to_have_text("1")
    expect(page.locator("#export-samples img")).to_have_count(1)
    page.select_option("#export-format", "coco")
    page.get_by_role("button", name="Show what it matches").click()

    page.get_by_role("button", name="Build an archive with the image files").click()
    expect(page.locator("#export-progress")).to_have_js_property("value", 100)
    expect(page.locator("#export-status")).to_have_text("Ready: 1 image.")
    with page.expect_download() as downloading:
        page.locator("#export-job-download").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(downloading.value.path()).read_bytes()))

    assert f"images/{image.pk}.jpg" in archive.namelist()
    coco = json.loads(archive.read("annotations/instances.json"))
    assert [c["name"] for c in coco["categories"]] == ["dog"]
    assert coco["annotations"][0]["bbox"] == [16, 24, 80, 30]


def test_a_mistake_while_typing_is_shown_at_once(page):
    LabelFactory(name="dog")

    page.goto("/datasets/export/")
    page.locator("#export-query").fill("dog & & cat")

    expect(page.locator("#export-error")).to_contain_text("(column 7)")


def test_the_export_page_fits_a_phone(phone_page):
    phone_page.goto("/datasets/export/?query=")

    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
