"""Streamed exports through the API: what leaves (public images, decided facts, outlines in
both coordinate systems, negatives), in each streamed format, and every refusal."""

import csv
import io
import json

import pytest

from donations.models import Image, ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import (
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    submitted_annotation,
)

from .conftest import RECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    """A dog outlined on one image (160×120), a cat confirmed on another, a cat confirmed
    absent on a third; plus what must never leave: an open claim and a pending image."""
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    outlined = submitted_annotation(label=dog, shapes=[RECT]).image_label
    ImageLabel = type(outlined)
    ImageLabel.objects.filter(pk=outlined.pk).update(yes_count=4, counted_votes=4)
    cat_image = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(
        image=cat_image, label=cat, state=ImageLabelState.CONFIRMED, probability=0.995
    )
    no_cat = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(image=no_cat, label=cat, state=ImageLabelState.REJECTED, probability=0.004)
    ImageLabelFactory(label=dog, state=ImageLabelState.OPEN, probability=0.7)
    ImageLabelFactory(
        image=ImageFactory(status=ImageStatus.PENDING),
        label=dog,
        state=ImageLabelState.CONFIRMED,
        probability=0.999,
    )
    return {
        "outlined": str(outlined.image_id),
        "cat": str(cat_image.pk),
        "no_cat": str(no_cat.pk),
    }


def export(api_client, **params):
    response = api_client.get("/api/exports/", params)
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content), response


def test_json_export_has_public_decided_facts_outlines_in_both_units_and_the_cc0_notice(
    api_client, dataset
):
    body, response = export(api_client)
    document = json.loads(body)

    assert response["Content-Type"] == "application/json"
    assert document["license"] == "CC0-1.0" and "CC0" in document["notice"]
    assert document["dataset_version"]
    images = {image["id"]: image for image in document["images"]}
    assert set(images) == set(dataset.values())
    outlined = images[dataset["outlined"]]
    assert (outlined["width"], outlined["height"]) == (160, 120)
    assert outlined["url"].endswith(f"/images/{dataset['outlined']}/file/full")
    assert [label["label"] for label in outlined["labels"]] == ["dog"]
    assert outlined["labels"][0]["yes"] == 4
    (annotation,) = outlined["annotations"]
    (shape,) = annotation["shapes"]
    assert shape["pixels"] == pytest.approx({"x": 16, "y": 24, "width": 80, "height": 30})
    assert shape["bbox"] == pytest.approx({"xmin": 0.1, "ymin": 0.2, "xmax": 0.6, "ymax": 0.45})
    assert shape["bbox_pixels"] == pytest.approx({"xmin": 16, "ymin": 24, "xmax": 96, "ymax": 54})
    assert images[dataset["no_cat"]]["negatives"] == [{"label": "cat", "probability": 0.004}]
    assert images[dataset["no_cat"]]["labels"] == []


def test_a_query_narrows_images_and_their_facts_and_brings_its_negatives(api_client, dataset):
    document = json.loads(export(api_client, query="cat")[0])
    positives_only = json.loads(export(api_client, query="cat", include_negatives="false")[0])

    images = {image["id"]: image for image in document["images"]}
    assert set(images) == {dataset["cat"], dataset["no_cat"]}
    assert [label["label"] for label in images[dataset["cat"]]["labels"]] == ["cat"]
    assert images[dataset["no_cat"]]["negatives"][0]["label"] == "cat"
    assert document["query"] == "cat"
    assert [image["id"] for image in positives_only["images"]] == [dataset["cat"]]
    # A query without labels still needs its own condition to hold for negatives.
    wide = json.loads(export(api_client, query="image.width > 1000px")[0])
    assert wide["images"] == []


def test_min_probability_is_a_real_fraction(api_client, dataset):
    document = json.loads(export(api_client, min_probability="0.996")[0])

    ids = {image["id"] for image in document["images"]}
    # The cat at 0.995 falls below 0.996; the rejected cat (1 − 0.004 = 0.996) stays.
    assert dataset["cat"] not in ids
    assert dataset["no_cat"] in ids


def test_negatives_can_be_left_out_and_outlines_required(api_client, dataset):
    without = json.loads(export(api_client, include_negatives="false")[0])
    outlined = json.loads(export(api_client, annotations_only="true")[0])

    assert {image["id"] for image in without["images"]} == {dataset["outlined"], dataset["cat"]}
    assert [image["id"] for image in outlined["images"]] == [dataset["outlined"]]


def test_jsonl_export_is_one_image_per_line(api_client, dataset):
    body, response = export(api_client, format="jsonl")

    lines = body.decode().splitlines()
    assert response["Content-Type"] == "application/x-ndjson"
    assert {json.loads(line)["id"] for line in lines} == set(dataset.values())


def test_csv_export_has_a_row_per_shape_and_empty_boxes_for_labels_and_negatives(
    api_client, dataset
):
    body, _ = export(api_client, format="csv")

    rows = list(csv.DictReader(io.StringIO(body.decode())))
    by_image = {row["image_id"]: row for row in rows}
    shape = by_image[dataset["outlined"]]
    assert (shape["label"], shape["positive"], shape["shape"]) == ("dog", "1", "rect")
    assert [float(shape[k]) for k in ("xmin", "ymin", "xmax", "ymax")] == pytest.approx(
        [0.1, 0.2, 0.6, 0.45]
    )
    assert [float(shape[k]) for k in ("xmin_px", "ymin_px", "xmax_px", "ymax_px")] == (
        pytest.approx([16, 24, 96, 54])
    )
    assert (by_image[dataset["cat"]]["positive"], by_image[dataset["cat"]]["xmin"]) == ("1", "")
    assert (by_image[dataset["no_cat"]]["positive"], by_image[dataset["no_cat"]]["xmin"]) == (
        "0",
        "",
    )
    assert len(rows) == 3


def test_images_hidden_while_an_export_streams_never_appear(api_client, monkeypatch):
    from datasets import database_writers, formats, services

    monkeypatch.setattr(services, "PAGE_SIZE", 1)
    monkeypatch.setattr(database_writers, "PAGE_IMAGES", 1)
    monkeypatch.setattr(formats, "CHUNK_BYTES", 1)
    label = LabelFactory(name="dog")
    images = sorted(
        (ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(3)), key=lambda i: str(i.pk)
    )
    for image in images:
        ImageLabelFactory(image=image, label=label, state=ImageLabelState.CONFIRMED, probability=1)

    response = api_client.get("/api/exports/", {"format": "jsonl"})
    stream = iter(response.streaming_content)
    first = next(stream)
    Image.objects.filter(pk=images[1].pk).update(status=ImageStatus.HIDDEN)
    Image.objects.filter(pk=images[2].pk).update(status=ImageStatus.REJECTED)
    rest = b"".join(stream)

    ids = [json.loads(line)["id"] for line in (first + rest).decode().splitlines()]
    assert ids == [str(images[0].pk)]


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        ({"query": "dog & & cat"}, "invalid_query", "Unexpected '&'"),
        ({"query": "(dog"}, "invalid_query", "ends too early"),
        ({"query": "dgo"}, "invalid_query", "Unknown label 'dgo'"),
        ({"query": "image.size > 3"}, "invalid_query", "Unknown attribute"),
        ({"query": "image.width > 800pt"}, "invalid_query", "the unit 'pt' does not fit"),
        ({"query": "image.width > 'big'"}, "invalid_query", "compare it with a number"),
        ({"query": "dog|" * 600}, "query_too_long", "at most 2,000"),
        ({"query": "(" * 40 + "dog" + ")" * 40}, "query_too_deep", "at most 32"),
        ({"min_probability": "1.5"}, "invalid_min_probability", "from 0 to 1"),
        ({"min_probability": "-0.1"}, "invalid_min_probability", "from 0 to 1"),
        ({"min_probability": "high"}, "invalid_min_probability", "not 'high'"),
        ({"min_probability": "nan"}, "invalid_min_probability", "from 0 to 1"),
        ({"min_votes": "-1"}, "invalid_min_votes", "whole number"),
        ({"format": "xml"}, "invalid_format", "use one of json, jsonl, csv"),
        ({"annotations_only": "maybe"}, "invalid_annotations_only", "true or false"),
        ({"colour": "red"}, "unknown_parameter", "Unknown parameter 'colour'"),
    ],
)
def test_bad_export_requests_are_400s_that_name_the_problem(api_client, params, code, says):
    LabelFactory(name="dog")
    LabelFactory(name="cat")

    response = api_client.get("/api/exports/", params)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert says in response.json()["detail"]


def test_exports_follow_the_querys_order_across_pages(api_client, monkeypatch):
    from datasets import formats, services

    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    monkeypatch.setattr(formats, "CHUNK_BYTES", 1)
    dog = LabelFactory(name="dog")
    probabilities = [0.991, 0.999, 0.995, 0.993, 0.997]
    for probability in probabilities:
        ImageLabelFactory(
            image=ImageFactory(status=ImageStatus.UNLOCKED),
            label=dog,
            state=ImageLabelState.CONFIRMED,
            probability=probability,
        )

    def order(query, **params):
        body, _ = export(api_client, format="jsonl", query=query, **params)
        return [json.loads(line) for line in body.decode().splitlines()]

    by_validation = order("dog order by validation desc")
    assert [r["labels"][0]["probability"] for r in by_validation] == sorted(probabilities)[::-1]
    ascending = order("dog order by validation asc")
    assert [r["labels"][0]["probability"] for r in ascending] == sorted(probabilities)
    first = [r["id"] for r in order("dog order by random", seed="1")]
    assert first == [r["id"] for r in order("dog order by random", seed="1")]
    assert sorted(first) == sorted(r["id"] for r in by_validation)
    # A seed picks where the random order starts: with five images another seed starts at
    # the same one a fifth of the time, so several seeds are tried.
    assert any([r["id"] for r in order("dog order by random", seed=s)] != first for s in "23456789")
