"""The export's counts: what the live count and the preview say an export holds is exactly what
it writes, whichever way the query is compiled to be counted fast."""

import pytest

from datasets.query.compiler import compile_query
from datasets.services import (
    export_preview,
    export_records,
    export_request_from,
    export_select,
)
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory, submitted_annotation

pytestmark = pytest.mark.django_db

CONFIRMED, REJECTED, OPEN = (
    ImageLabelState.CONFIRMED,
    ImageLabelState.REJECTED,
    ImageLabelState.OPEN,
)
BIG_RECT = [{"type": "rect", "x": 0, "y": 0, "width": 0.5, "height": 0.5}]


@pytest.fixture
def labels():
    animal = LabelFactory(name="animal")
    return {
        "animal": animal,
        "dog": LabelFactory(name="dog", parent=animal),
        "cat": LabelFactory(name="cat", parent=animal),
        "car": LabelFactory(name="car"),
        "truck": LabelFactory(name="truck"),
        "wheel": LabelFactory(name="wheel"),
    }


def image_with(labels, *facts, status=ImageStatus.UNLOCKED):
    """An image with (name, state, probability) facts."""
    image = ImageFactory(status=status)
    for name, state, probability in facts:
        ImageLabelFactory(image=image, label=labels[name], state=state, probability=probability)
    return image


def counted(query, **params) -> int:
    return export_select(export_request_from({"query": query, **params})).count()


def ids(query, **params) -> set[str]:
    selection = export_select(export_request_from({"query": query, **params}))
    return {str(pk) for pk in selection.image_ids.values_list("pk", flat=True)}


def test_negated_labels_beside_a_label_term_leave_out_images_with_any_of_them(labels):
    dog = image_with(labels, ("dog", CONFIRMED, 0.99))
    with_car = image_with(labels, ("dog", CONFIRMED, 0.99), ("car", CONFIRMED, 0.99))
    with_truck = image_with(labels, ("cat", CONFIRMED, 0.99), ("truck", CONFIRMED, 0.7))
    car_doubted = image_with(labels, ("dog", CONFIRMED, 0.99), ("car", OPEN, 0.6))
    car_denied = image_with(labels, ("cat", CONFIRMED, 0.99), ("car", REJECTED, 0.01))

    query = "animal & ~car & ~truck"
    assert ids(query, include_negatives="false") == {
        str(dog.pk),
        str(car_doubted.pk),
        str(car_denied.pk),
    }
    # A truck confirmed below min_probability is no fact of the export, so it excludes nothing.
    assert str(with_truck.pk) in ids(query, include_negatives="false", min_probability="0.8")
    assert str(with_car.pk) not in ids(query, min_probability="0.8")
    # Without a label term beside them, the negated labels are checked against every image.
    assert ids("~car & ~truck & ~wheel", include_negatives="false") == {
        str(dog.pk),
        str(car_doubted.pk),
        str(car_denied.pk),
    }


def test_negated_labels_are_the_same_wherever_the_query_is_used(labels):
    image_with(labels, ("dog", CONFIRMED, 0.99))
    image_with(labels, ("dog", CONFIRMED, 0.99), ("car", CONFIRMED, 0.99))
    image_with(labels, ("dog", CONFIRMED, 0.99), ("truck", CONFIRMED, 0.99))
    image_with(labels, ("cat", CONFIRMED, 0.99))

    def matching(query):
        return set(Image.objects.public().filter(compile_query(query).images))

    assert matching("dog & ~car & ~truck") == matching("dog & ~(car | truck)")
    assert matching("~car & dog & ~truck") == matching("dog & ~(car | truck)")
    assert len(matching("dog & ~car & ~truck")) == 1


def test_a_query_anchored_in_a_label_term_says_so(labels):
    assert compile_query("dog").anchored
    assert compile_query("(dog | cat) & ~car & image.width > 10px").anchored
    assert compile_query("~car & =animal").anchored
    assert not compile_query("~car").anchored
    assert not compile_query("dog | image.width > 10px").anchored
    assert not compile_query("image.width > 10px & ~dog").anchored
    assert not compile_query("~(dog & cat)").anchored


def test_a_label_query_counts_public_images_with_the_label_as_a_fact_of_the_export(labels):
    sure = image_with(labels, ("dog", CONFIRMED, 0.99))
    image_with(labels, ("dog", CONFIRMED, 0.7))  # below min_probability
    image_with(labels, ("dog", OPEN, 0.6))
    image_with(labels, ("dog", CONFIRMED, 0.99), status=ImageStatus.PENDING)
    image_with(labels, ("dog", CONFIRMED, 0.99), status=ImageStatus.HIDDEN)

    assert ids("dog & image.width > 100px", min_probability="0.8", include_negatives="false") == {
        str(sure.pk)
    }


def test_images_confirmed_without_the_labels_come_along_only_when_public(labels):
    public = image_with(labels, ("dog", REJECTED, 0.01))
    for status in (
        ImageStatus.PENDING,
        ImageStatus.REJECTED,
        ImageStatus.HIDDEN,
        ImageStatus.REMOVED,
    ):
        image_with(labels, ("dog", REJECTED, 0.01), status=status)

    assert ids("dog") == {str(public.pk)}
    assert ids("dog", include_negatives="false") == set()


@pytest.mark.parametrize(
    "params",
    [
        {"query": "(dog | cat) & ~car & ~truck & annotation.coverage > 1%"},
        {"query": "animal & ~car", "min_probability": "0.8"},
        {"query": "animal & ~car", "include_negatives": "false"},
        {"query": "dog", "annotations_only": "true"},
        {"query": "~car & image.width > 100px"},
        {"query": "dog | image.width > 100px"},
        {"query": "image.width > 100px"},
        {},
    ],
)
def test_the_preview_counts_what_the_export_writes(labels, params):
    image_with(labels, ("dog", CONFIRMED, 0.99), ("cat", CONFIRMED, 0.9), ("wheel", OPEN, 0.5))
    image_with(labels, ("dog", CONFIRMED, 0.99), ("car", CONFIRMED, 0.99))
    image_with(labels, ("cat", CONFIRMED, 0.7), ("truck", REJECTED, 0.01))
    image_with(labels, ("dog", REJECTED, 0.02), ("car", REJECTED, 0.1))
    image_with(labels, ("cat", REJECTED, 0.3), ("wheel", CONFIRMED, 0.99))
    image_with(labels, ("dog", CONFIRMED, 0.99), status=ImageStatus.HIDDEN)
    image_with(labels, ("dog", REJECTED, 0.01), status=ImageStatus.PENDING)
    image_with(labels, ("wheel", OPEN, 0.5))
    outlined = submitted_annotation(label=labels["dog"], shapes=BIG_RECT).image_label
    ImageLabelFactory(image=outlined.image, label=labels["cat"], state=REJECTED, probability=0.05)

    selection = export_select(export_request_from(params))
    records = list(export_records(selection, base_url="http://testserver"))
    preview = export_preview(selection, samples=3)

    assert preview["images"] == selection.count() == len(records) > 0
    assert preview["image_labels"] == sum(
        len(record["labels"]) + len(record["negatives"]) for record in records
    )
    assert preview["samples"] == sorted(record["id"] for record in records)[:3]
