"""The statistics pages in Chromium, on a desktop and on a phone: totals, charts drawn as SVG,
the label table sorted and searched without scripts, the labels that need help leading to
their task pages, and the label graph."""

import pytest
from playwright.sync_api import expect

from datasets.statistics.refresh import statistics_refresh
from labels_app.models import ImageLabelState
from tests.factories import AnnotationTaskFactory, ImageLabelFactory, LabelFactory

from .test_accessibility import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counted():
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name="dog", parent=animal)
    cat = LabelFactory(name="cat", parent=animal)
    tail = LabelFactory(name="tail")
    dog.parts.add(tail)
    for _ in range(3):
        ImageLabelFactory(label=dog)
    AnnotationTaskFactory(label=dog)
    ImageLabelFactory(label=cat, state=ImageLabelState.REJECTED)
    statistics_refresh()


def table_labels(page) -> list[str]:
    return page.locator("#label-table tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.label)"
    )


def test_desktop_sorts_and_searches_the_label_table_and_follows_help(page, counted):
    page.goto("/statistics/")

    expect(page.locator('[data-total="images"]')).to_have_text("5")
    expect(page.locator("#chart-donations svg rect.chart-bar")).to_have_count(1)
    expect(page.locator("#chart-donations svg title").first).to_contain_text("Donations per day")
    assert table_labels(page) == ["dog", "cat"]

    page.locator("#label-table").get_by_role("link", name="Label", exact=True).click()
    expect(page.locator('th[aria-sort="ascending"]')).to_have_text("Label ▲")
    assert table_labels(page) == ["cat", "dog"]

    page.get_by_label("Search labels").fill("do")
    page.get_by_role("button", name="Search").click()
    assert table_labels(page) == ["dog"]
    expect(page).to_have_url("/statistics/?q=do&sort=name#labels")

    help_item = page.locator('#help-list [data-label="dog"]')
    expect(help_item).to_contain_text("3 to validate")
    expect(help_item).to_contain_text("1 to outline")
    help_item.get_by_role("link", name="Validate").click()
    expect(page).to_have_url("/validate/?label=dog")


def test_desktop_browses_the_label_graph(page, counted):
    page.goto("/statistics/labels/graph/")

    tree = page.locator("#label-tree")
    expect(tree.locator('[data-label="animal"] [data-label="dog"]')).to_be_visible()
    expect(tree.locator('[data-label="dog"] .tree-parts')).to_have_text("has tail")

    tree.locator('[data-label="dog"] .tree-name').first.click()
    expect(page).to_have_url("/statistics/labels/graph/?root=dog")
    expect(page.locator("#label-tree .tree-node")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Where in the graph")).to_contain_text("animal")


def test_the_statistics_page_fits_a_phone(phone_page, counted):
    phone_page.goto("/statistics/")

    expect(phone_page.locator("#chart-votes svg")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    # Charts stack one per row, each as wide as the screen allows.
    box = phone_page.locator("#chart-labels svg").bounding_box()
    assert 300 <= box["width"] <= 390
    assert (
        phone_page.locator("#chart-labels").bounding_box()["y"]
        > phone_page.locator("#chart-donations").bounding_box()["y"]
    )
    # The table scrolls inside its box, its figures readable (not shrunk below 12 px).
    font = phone_page.locator("#label-table td").first.evaluate(
        "cell => parseFloat(getComputedStyle(cell).fontSize)"
    )
    assert font >= 12


def test_the_label_graph_fits_a_phone(phone_page, counted):
    phone_page.goto("/statistics/labels/graph/")

    expect(phone_page.locator('#label-tree [data-label="dog"]')).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize(
    "path", ["/statistics/", "/statistics/?q=zebra", "/statistics/labels/graph/?root=dog"]
)
def test_the_statistics_pages_have_no_serious_accessibility_problems(
    page, phone_page, counted, path
):
    for viewer in (page, phone_page):
        viewer.goto(path)
        assert_accessible(viewer)


def test_the_empty_statistics_page_says_what_to_do_next(page):
    page.goto("/statistics/")

    expect(page.locator("#no-donations")).to_contain_text("No donations yet")
    page.locator("#no-donations").get_by_role("link", name="donate the first photo").click()
    expect(page).to_have_url("/donate/")
