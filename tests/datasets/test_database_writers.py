"""On PostgreSQL the database writes JSON, JSON Lines and COCO itself: what it writes must be
what the Python writers write, and outlines are exported at their current revision."""

import json
import threading

import orjson
import pytest
from django.db import connection
from django.utils import timezone

from annotations.services import annotation_revise
from datasets import database_writers, formats
from datasets.models import ExportOutline
from datasets.services import (
    export_categories,
    export_header,
    export_outlines_refresh,
    export_records,
    export_request_from,
    export_select,
    export_stream,
)
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import (
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
    submitted_annotation,
)

from .conftest import ELLIPSE, RECT, TRIANGLE

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the database writer is PostgreSQL's; other databases use the Python one",
)
BASE_URL = "http://testserver"


@pytest.fixture
def varied_dataset():
    """Labels whose names need escaping, refined and unrefined shapes of every kind, several
    labels and negatives per image, probabilities that need rounding, and images that are not
    public; and a fact of a refinement, which is no COCO category, and a label newer than
    the others, which is one."""
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name='dog "rex" \\ wolf', parent=animal)
    cat = LabelFactory(name="Katze ünd 猫", parent=animal)
    car = LabelFactory(name="car")
    colour = RefinementFactory(name="colour", values=["brown", "black"])
    newest = LabelFactory(name="zebra crossing")
    for label in (colour, newest):
        ImageLabelFactory(label=label, state=ImageLabelState.REJECTED, probability=0.01)
    refined = {**RECT, "refinements": {"colour": "brown"}}
    for shapes in ([refined, ELLIPSE, TRIANGLE], [TRIANGLE], [ELLIPSE, RECT]):
        image_label = submitted_annotation(label=dog, shapes=shapes).image_label
        ImageLabelFactory(
            image=image_label.image,
            label=cat,
            state=ImageLabelState.REJECTED,
            probability=0.0123456789,
        )
    for number in range(6):
        image = ImageFactory(status=ImageStatus.UNLOCKED)
        ImageLabelFactory(
            image=image, label=car, state=ImageLabelState.CONFIRMED, probability=0.8 + number / 50
        )
        if number % 2:
            ImageLabelFactory(image=image, label=dog, state=ImageLabelState.REJECTED, probability=0)
        if number == 3:
            ImageLabelFactory(image=image, label=cat, state=ImageLabelState.OPEN, probability=0.5)
        if number == 5:  # two negatives, in label-name order
            ImageLabelFactory(image=image, label=cat, state=ImageLabelState.REJECTED, probability=0)
    for status in (ImageStatus.HIDDEN, ImageStatus.PENDING):
        hidden = ImageFactory(status=status)
        ImageLabelFactory(image=hidden, label=car, state=ImageLabelState.CONFIRMED, probability=1)


def python_written(selection) -> bytes:
    """The export as the Python writers write it (every database's path)."""
    request = selection.request
    options = {"categories": export_categories(selection)} if request.format == "coco" else {}
    records = export_records(selection, base_url=BASE_URL)
    writer = formats.WRITERS[request.format]
    return b"".join(writer(export_header(selection), records, **options))


def database_written(selection) -> bytes:
    assert database_writers.writes(selection)
    return b"".join(export_stream(selection, base_url=BASE_URL))


def by_image_ids(coco: dict) -> dict:
    """COCO with the site's image ids for its own numbers (each writer numbers its images its
    own way), after checking that those are unique."""
    site_id = {image["id"]: image["imagemonkey_id"] for image in coco["images"]}
    assert len(site_id) == len(coco["images"])
    for image in coco["images"]:
        image["id"] = site_id[image["id"]]
    for annotation in coco["annotations"]:
        annotation["image_id"] = site_id[annotation["image_id"]]
    return coco


def approximately(value):
    """Parsed JSON with every float as pytest.approx (the database rounds in decimal)."""
    if isinstance(value, dict):
        return {key: approximately(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approximately(item) for item in value]
    if isinstance(value, float):
        return pytest.approx(value, abs=1e-6)
    return value


@postgresql_only
@pytest.mark.parametrize("query", ["", "animal", "car | =animal"])
@pytest.mark.parametrize("include_negatives", ["true", "false"])
def test_the_database_writes_the_same_json_lines_as_python(
    varied_dataset, query, include_negatives, monkeypatch
):
    monkeypatch.setattr(database_writers, "PAGE_IMAGES", 2)  # pages, and a page boundary
    params = {"format": "jsonl", "query": query, "include_negatives": include_negatives}
    selection = export_select(export_request_from(params))

    expected = [json.loads(line) for line in python_written(selection).splitlines()]
    written = [json.loads(line) for line in database_written(selection).splitlines()]

    assert len(written) == len(expected) > 0
    assert written == [approximately(record) for record in expected]


@postgresql_only
def test_the_database_writes_the_same_json_document_as_python(varied_dataset, monkeypatch):
    monkeypatch.setattr(database_writers, "PAGE_IMAGES", 3)
    selection = export_select(export_request_from({"format": "json"}))

    expected = json.loads(python_written(selection))
    written = json.loads(database_written(selection))

    assert len(written["images"]) == 11
    assert written == approximately(expected)


@postgresql_only
@pytest.mark.parametrize("query", ["", "animal"])
def test_the_database_writes_the_same_coco_as_python(varied_dataset, query, monkeypatch):
    monkeypatch.setattr(database_writers, "PAGE_IMAGES", 2)
    selection = export_select(export_request_from({"format": "coco", "query": query}))

    expected = by_image_ids(json.loads(python_written(selection)))
    written = by_image_ids(json.loads(database_written(selection)))

    assert written["images"] == expected["images"]
    assert [a["id"] for a in written["annotations"]] == [a["id"] for a in expected["annotations"]]
    assert written == approximately(expected)
    assert len(written["annotations"]) == 6  # 3 + 1 + 2 shapes of the dogs


@postgresql_only
def test_names_that_need_escaping_come_out_as_they_are(varied_dataset):
    selection = export_select(export_request_from({"format": "jsonl", "query": "animal"}))

    records = [orjson.loads(line) for line in database_written(selection).splitlines()]

    names = {fact["label"] for record in records for fact in record["labels"]}
    assert names == {'dog "rex" \\ wolf'}
    assert {fact["label"] for record in records for fact in record["negatives"]} == {
        "Katze ünd 猫",
        'dog "rex" \\ wolf',
    }


def file_names(export_format: str, text: bytes) -> list[str]:
    if export_format == "coco":
        return [image["file_name"] for image in json.loads(text)["images"]]
    return [json.loads(line)["file_name"] for line in text.splitlines()]


@postgresql_only
@pytest.mark.parametrize("export_format", ["jsonl", "coco"])
@pytest.mark.parametrize("stored", ["images/a.b/photo.webp", "images/ab/no-extension"])
def test_file_names_take_what_follows_the_last_dot_as_in_python(export_format, stored):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(image=image, state=ImageLabelState.CONFIRMED, probability=1)
    Image.objects.filter(pk=image.pk).update(file=stored)
    selection = export_select(export_request_from({"format": export_format}))

    written = file_names(export_format, database_written(selection))

    assert written == file_names(export_format, python_written(selection))
    assert written == [f"{image.pk}.{stored.rsplit('.', 1)[-1]}"]


def test_an_outline_is_exported_at_its_current_revision(outlined_dog):
    selection = export_select(export_request_from({"format": "jsonl", "query": "dog"}))
    (before,) = [r for r in export_records(selection, base_url=BASE_URL) if r["annotations"]]
    annotation = ExportOutline.objects.get().annotation

    annotation_revise(
        contributor=annotation.revisions.get().author,
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[TRIANGLE],
    )
    assert ExportOutline.objects.stale_annotations(type(annotation).objects.all()).count() == 1
    lines = b"".join(export_stream(selection, base_url=BASE_URL)).splitlines()
    (after,) = [record for record in map(json.loads, lines) if record["annotations"]]

    assert [shape["type"] for shape in before["annotations"][0]["shapes"]] == [
        "rect",
        "ellipse",
        "polygon",
    ]
    assert after["annotations"][0]["revision"] == 2
    assert [shape["type"] for shape in after["annotations"][0]["shapes"]] == ["polygon"]
    assert (
        after["annotations"][0]["shapes"][0]["bbox_pixels"]
        == before["annotations"][0]["shapes"][2]["bbox_pixels"]
    )
    assert export_outlines_refresh() == 0


def test_coco_shape_ids_are_stable_and_never_collide(outlined_dog):
    # A COCO shape id is its annotation's id × SHAPE_ID_STRIDE + its place: no annotation can
    # hold as many shapes as the stride.
    from annotations.shapes import MAX_SHAPES

    assert MAX_SHAPES < formats.SHAPE_ID_STRIDE
    selection = export_select(export_request_from({"format": "coco"}))
    first, again = (json.loads(python_written(selection)) for _ in range(2))
    annotation = ExportOutline.objects.get().annotation_id
    ids = [a["id"] for a in first["annotations"]]

    assert ids == [annotation * formats.SHAPE_ID_STRIDE + place for place in (1, 2, 3)]
    assert ids == [a["id"] for a in again["annotations"]]


def test_an_outline_gets_its_export_forms_once_its_drawing_is_saved(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        annotation = submitted_annotation(shapes=[RECT, ELLIPSE])

    outline = ExportOutline.objects.get(annotation=annotation)
    assert outline.drawn_at == annotation.updated_at
    assert [shape["bbox_pixels"] for shape in orjson.loads(outline.shapes)] == [
        {"xmin": 16, "ymin": 24, "xmax": 96, "ymax": 54},
        {"xmin": 40, "ymin": 30, "xmax": 120, "ymax": 90},
    ]
    assert len(outline.coco.splitlines()) == 2
    assert export_outlines_refresh() == 0


def test_shapes_changed_within_a_revision_get_their_export_forms_again(outlined_dog):
    # A decided refinement writes into the current shapes without a new revision.
    export_outlines_refresh()
    outline = ExportOutline.objects.get()
    annotation = outline.annotation
    annotation.shapes[0]["refinements"] = {"colour": "red"}
    annotation.updated_at = timezone.now()
    annotation.save(update_fields=["shapes", "updated_at"])

    assert export_outlines_refresh() == 1
    outline.refresh_from_db()
    assert orjson.loads(outline.shapes)[0]["refinements"] == {"colour": "red"}
    assert outline.revision == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("export_format", ["jsonl", "coco"])
def test_pages_written_side_by_side_come_out_in_order(export_format, monkeypatch):
    # Outside a transaction (as when served) pages are written on connections of their own,
    # several at once; what comes out is still every page, in order.
    monkeypatch.setattr(database_writers, "PAGE_IMAGES", 2)
    monkeypatch.setattr(database_writers, "PAGES_AHEAD", 3)
    threads = []
    page_text = database_writers._page_text_closing

    def recorded(sql, params):
        threads.append(threading.current_thread().name)
        return page_text(sql, params)

    monkeypatch.setattr(database_writers, "_page_text_closing", recorded)
    dog = LabelFactory(name="dog")
    for number in range(9):
        image_label = submitted_annotation(label=dog, shapes=[RECT] * (1 + number % 3)).image_label
        ImageLabelFactory(image=image_label.image, state=ImageLabelState.REJECTED, probability=0)
    selection = export_select(export_request_from({"format": export_format}))

    written = database_written(selection)
    expected = python_written(selection)

    assert threads and all(name.startswith("export-page") for name in threads)
    if export_format == "coco":
        assert by_image_ids(json.loads(written)) == approximately(
            by_image_ids(json.loads(expected))
        )
    else:
        assert [json.loads(line) for line in written.splitlines()] == [
            approximately(json.loads(line)) for line in expected.splitlines()
        ]
