"""The pages in Python: an archive reads the selection's ids first, and every page works out
the export forms of its own outlines when they are stale."""

import pytest
from django.utils import timezone

from datasets import services
from datasets.models import ExportOutline
from datasets.services import export_pages, export_request_from, export_select
from donations.models import ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory, submitted_annotation

from .conftest import ELLIPSE, RECT, TRIANGLE

pytestmark = pytest.mark.django_db
BASE_URL = "http://testserver"


def records(selection, *, ids_first: bool) -> list[tuple[dict, str]]:
    pages = export_pages(selection, base_url=BASE_URL, ids_first=ids_first)
    return [pair for page in pages for pair in page]


@pytest.mark.parametrize("query", ["", "dog", "~dog"])
def test_pages_from_the_ids_first_are_the_keyset_pages(query, monkeypatch):
    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    for shapes in ([RECT], [ELLIPSE, TRIANGLE], [TRIANGLE]):
        submitted_annotation(label=dog, shapes=shapes)
    ImageLabelFactory.create_batch(3, label=cat, state=ImageLabelState.CONFIRMED, probability=0.9)
    ImageLabelFactory(image=ImageFactory(status=ImageStatus.PENDING), label=dog)
    selection = export_select(export_request_from({"query": query, "format": "coco"}))

    from_ids = records(selection, ids_first=True)

    assert from_ids == records(selection, ids_first=False)
    assert len(from_ids) == {"": 6, "dog": 3, "~dog": 3}[query]
    assert [record["id"] for record, _ in from_ids] == sorted(
        record["id"] for record, _ in from_ids
    )


@pytest.mark.parametrize("ids_first", [True, False])
def test_a_page_works_out_its_stale_outlines_before_it_reads_them(outlined_dog, ids_first):
    # Shapes changed without the event that asks for their export forms (a bulk update):
    # the page that holds them catches up, with no refresh of every outline first.
    services.export_outlines_refresh()
    outline = ExportOutline.objects.get()
    annotation = outline.annotation
    annotation.shapes[0]["refinements"] = {"colour": "red"}
    annotation.updated_at = timezone.now()
    annotation.save(update_fields=["shapes", "updated_at"])
    selection = export_select(export_request_from({"query": "dog", "format": "json"}))

    (record,) = [record for record, _ in records(selection, ids_first=ids_first)]

    assert record["annotations"][0]["shapes"][0]["refinements"] == {"colour": "red"}
    outline.refresh_from_db()
    assert outline.drawn_at == annotation.updated_at
