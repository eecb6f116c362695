"""The archive formats' files laid out as each tool expects, with the stored image files, and
read back by that tool: every shape's box at its pixels, class names, masks, negatives."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from defusedxml import ElementTree

from datasets import archive_formats
from datasets.services import ExportRequest, export_categories, export_records, export_select
from donations.models import Image
from labels_app.models import ImageLabelState
from tests.factories import ImageLabelFactory, LabelFactory, submitted_annotation

from .conftest import PIXEL_BOXES, RECT, TRIANGLE

pytestmark = pytest.mark.django_db

# On a 160×120 image.
ODD_NAME = 'oak "tree" <big> & tall: #1 [x] – é'


def exported(query: str = "") -> tuple[list[dict], list[dict]]:
    selection = export_select(ExportRequest(query=query))
    records = list(export_records(selection, base_url="http://testserver"))
    return records, export_categories(selection)


def write(root: Path, entries) -> None:
    for name, data in entries:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def image_bytes(record: dict) -> bytes:
    """An image file as the archive job copies it: from storage, untouched."""
    with Image.objects.get(pk=record["id"]).file.open("rb") as stored:
        return stored.read()


def image_entries(records: list[dict], folder: str) -> list[tuple[str, bytes]]:
    return [(f"{folder}/{record['file_name']}", image_bytes(record)) for record in records]


def by_image(dataset) -> dict:
    """supervision's detections keyed by image id (the file stem)."""
    return {Path(path).stem: detections for path, detections in dataset.annotations.items()}


def boxes_and_names(detections, classes: list[str]) -> list[tuple]:
    return [
        (tuple(float(v) for v in box), classes[class_id])
        for box, class_id in zip(detections.xyxy, detections.class_id, strict=True)
    ]


def expected(name: str) -> list[tuple]:
    return [(tuple(pytest.approx(v, abs=0.01) for v in box), name) for box in PIXEL_BOXES]


def test_voc_annotations_load_in_supervision_with_each_shape_at_its_pixel_box(
    tmp_path, outlined_dog
):
    import supervision as sv

    records, _ = exported("animal")
    write(tmp_path, archive_formats.voc_entries(records))
    write(tmp_path, image_entries(records, archive_formats.VOC_IMAGES))

    dataset = sv.DetectionDataset.from_pascal_voc(
        images_directory_path=str(tmp_path / "JPEGImages"),
        annotations_directory_path=str(tmp_path / "Annotations"),
    )

    detections = by_image(dataset)
    assert set(detections) == {outlined_dog["image"], outlined_dog["no_cat"]}
    assert boxes_and_names(detections[outlined_dog["image"]], dataset.classes) == expected("dog")
    assert len(detections[outlined_dog["no_cat"]]) == 0
    document = ElementTree.parse(tmp_path / "Annotations" / f"{outlined_dog['image']}.xml")
    assert document.findtext("folder") == "JPEGImages"
    assert document.findtext("filename") == f"{outlined_dog['image']}.jpg"
    assert [document.findtext(f"size/{k}") for k in ("width", "height", "depth")] == [
        "160",
        "120",
        "3",
    ]
    assert document.findtext("segmented") == "0"
    rect = document.find("object")
    assert [rect.findtext(k) for k in ("name", "pose", "truncated", "difficult")] == [
        "dog",
        "Unspecified",
        "0",
        "0",
    ]
    # 1-based inclusive pixel indices: the box from edge 16 to edge 96 covers pixels 17–96.
    assert [rect.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == [
        "17",
        "25",
        "96",
        "54",
    ]


def test_yolo_labels_load_in_supervision_with_pixel_boxes_and_an_empty_file_for_a_negative(
    tmp_path, outlined_dog
):
    import supervision as sv

    records, categories = exported("animal")
    write(tmp_path, archive_formats.yolo_entries(records, categories=categories))
    write(tmp_path, image_entries(records, archive_formats.YOLO_IMAGES))

    dataset = sv.DetectionDataset.from_yolo(
        images_directory_path=str(tmp_path / "images"),
        annotations_directory_path=str(tmp_path / "labels"),
        data_yaml_path=str(tmp_path / "data.yaml"),
    )

    assert dataset.classes == ["animal", "dog", "cat"]
    detections = by_image(dataset)
    assert boxes_and_names(detections[outlined_dog["image"]], dataset.classes) == expected("dog")
    assert detections[outlined_dog["image"]].mask is None
    assert (tmp_path / "labels" / f"{outlined_dog['no_cat']}.txt").read_bytes() == b""
    assert len(detections[outlined_dog["no_cat"]]) == 0
    (rect_line, *_) = (tmp_path / "labels" / f"{outlined_dog['image']}.txt").read_text().split("\n")
    assert rect_line == "1 0.350000 0.325000 0.500000 0.250000"


def test_yolo_segmentation_polygons_load_in_supervision_as_masks_of_each_shape(
    tmp_path, outlined_dog
):
    import supervision as sv

    records, categories = exported("animal")
    entries = archive_formats.yolo_entries(records, categories=categories, segmentation=True)
    write(tmp_path, entries)
    write(tmp_path, image_entries(records, archive_formats.YOLO_IMAGES))

    dataset = sv.DetectionDataset.from_yolo(
        images_directory_path=str(tmp_path / "images"),
        annotations_directory_path=str(tmp_path / "labels"),
        data_yaml_path=str(tmp_path / "data.yaml"),
    )

    dog = by_image(dataset)[outlined_dog["image"]]
    assert boxes_and_names(dog, dataset.classes) == expected("dog")
    rect, ellipse, triangle = dog.mask
    assert rect.shape == (120, 160)
    # Rasterised with their edge pixels, so a little larger than the shapes' own areas.
    assert rect.sum() == pytest.approx(80 * 30, rel=0.1)
    assert rect[30, 50] and not rect[60, 50]
    assert ellipse.sum() == pytest.approx(3.14159 * 40 * 30, rel=0.1)
    assert ellipse[60, 80] and not ellipse[32, 42]  # the centre; a corner of its box
    assert triangle.sum() == pytest.approx(864, rel=0.1)
    assert triangle[20, 60] and not triangle[45, 20]  # inside / outside the triangle
    ellipse_line = (tmp_path / "labels" / f"{outlined_dog['image']}.txt").read_text().split("\n")[1]
    assert len(ellipse_line.split()) == 1 + 2 * 32


def test_label_names_with_spaces_and_odd_characters_survive_in_data_yaml_and_voc(tmp_path):
    import supervision as sv

    # "no" and "on" are booleans to a YAML 1.1 reader unless quoted.
    for name in (ODD_NAME, "no", "on"):
        submitted_annotation(label=LabelFactory(name=name), shapes=[RECT])
    records, categories = exported()
    write(tmp_path / "yolo", archive_formats.yolo_entries(records, categories=categories))
    write(tmp_path / "yolo", image_entries(records, archive_formats.YOLO_IMAGES))
    write(tmp_path / "voc", archive_formats.voc_entries(records))
    write(tmp_path / "voc", image_entries(records, archive_formats.VOC_IMAGES))

    yolo = sv.DetectionDataset.from_yolo(
        images_directory_path=str(tmp_path / "yolo/images"),
        annotations_directory_path=str(tmp_path / "yolo/labels"),
        data_yaml_path=str(tmp_path / "yolo/data.yaml"),
    )
    voc = sv.DetectionDataset.from_pascal_voc(
        images_directory_path=str(tmp_path / "voc/JPEGImages"),
        annotations_directory_path=str(tmp_path / "voc/Annotations"),
    )

    assert yolo.classes == [category["name"] for category in categories]
    assert set(yolo.classes) == {ODD_NAME, "no", "on"}
    assert sorted(voc.classes) == sorted([ODD_NAME, "no", "on"])
    for record in records:
        (label,) = record["labels"]
        for dataset in (yolo, voc):
            detections = by_image(dataset)[record["id"]]
            assert boxes_and_names(detections, dataset.classes) == [
                (tuple(pytest.approx(v, abs=0.01) for v in PIXEL_BOXES[0]), label["label"])
            ]


# Run in a child process: this project's Django app is itself called `datasets`, so Hugging
# Face's package cannot be imported beside it. The child refuses every connection, so
# "offline" is checked rather than trusted.
HF_LOAD = """
import json, os, socket, sys

def refuse(*args, **kwargs):
    raise OSError("Hugging Face datasets tried to use the network")

socket.socket.connect = refuse
import datasets

builder, options, cache_dir = json.loads(sys.argv[1])
if "features" in options:  # given as {column: dtype}
    options["features"] = datasets.Features(
        {column: datasets.Value(dtype) for column, dtype in options["features"].items()}
    )
loaded = datasets.load_dataset(builder, **options, cache_dir=cache_dir)
result = {}
for split, table in loaded.items():
    features = table.features
    if "image" in features:
        table = table.cast_column("image", datasets.Image(decode=False))
    label = features.get("label")
    if not isinstance(label, datasets.ClassLabel):
        label = None
    rows = []
    for row in table:
        if "image" in row:
            row["image"] = os.path.basename(row["image"]["path"])
        if label is not None:
            row["label"] = label.int2str(row["label"])
        rows.append(row)
    result[split] = rows
print(json.dumps(result, default=str))
"""


def hugging_face_load(tmp_path: Path, builder: str, **options) -> dict[str, list[dict]]:
    """`datasets.load_dataset(builder, **options)` offline, with its cache under tmp_path
    (`features` as {column: dtype}): each split's rows, images as file names and class
    labels as names."""
    home = tmp_path / "huggingface"
    environment = {
        **os.environ,
        "HF_HOME": str(home),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    arguments = json.dumps([builder, options, str(home / "datasets")])
    finished = subprocess.run(  # noqa: S603 — our own interpreter and script
        [sys.executable, "-I", "-c", HF_LOAD, arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(finished.stdout.splitlines()[-1])


def test_imagefolder_layout_loads_in_hugging_face_with_the_label_of_each_image(
    tmp_path, outlined_dog
):
    # The catalog's "train" label is also Hugging Face's word for a split folder.
    train = ImageLabelFactory(
        label=LabelFactory(name="train"), state=ImageLabelState.CONFIRMED, probability=0.99
    ).image
    records, _ = exported()
    entries = [
        (path, image_bytes(record))
        for record in records
        for path in archive_formats.imagefolder_paths(record)
    ]
    write(tmp_path / "archive", entries)

    splits = hugging_face_load(tmp_path, "imagefolder", data_dir=str(tmp_path / "archive"))

    assert list(splits) == ["train"]
    labelled = sorted((row["image"], row["label"]) for row in splits["train"])
    assert labelled == sorted(
        [(f"{outlined_dog['image']}.jpg", "dog"), (f"{train.pk}.jpg", "train")]
    )
    no_cat = next(r for r in records if r["id"] == outlined_dog["no_cat"])
    assert archive_formats.imagefolder_paths(no_cat) == []


def test_imagefolder_label_folder_cannot_leave_its_split_or_hide():
    record = {"file_name": "a.jpg", "labels": [{"label": "../../etc/passwd"}, {"label": ".."}]}

    assert archive_formats.imagefolder_paths(record) == [
        "train/etc_passwd/a.jpg",
        "train/unnamed/a.jpg",
    ]
    assert archive_formats.imagefolder_label("__pycache__") == "pycache__"
    assert archive_formats.imagefolder_label('what? "this": <a|b>') == "what_ _this__ _a_b_"


def shapes_parquet(api_client, tmp_path: Path) -> Path:
    response = api_client.get("/api/exports/", {"format": "parquet", "table": "shapes"})
    assert response.status_code == 200, response.content[:300]
    path = tmp_path / "shapes.parquet"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def test_the_parquet_shapes_table_loads_in_hugging_face_with_pixel_boxes_and_refinements(
    api_client, tmp_path, outlined_dog
):
    path = shapes_parquet(api_client, tmp_path)

    splits = hugging_face_load(tmp_path, "parquet", data_files=str(path))

    rows = sorted(splits["train"], key=lambda row: row["shape_index"])
    assert [(row["image_id"], row["label"], row["type"]) for row in rows] == [
        (outlined_dog["image"], "dog", kind) for kind in ("rect", "ellipse", "polygon")
    ]
    boxes = [tuple(row[f"{k}_px"] for k in ("xmin", "ymin", "xmax", "ymax")) for row in rows]
    assert boxes == [pytest.approx(box) for box in PIXEL_BOXES]
    assert (rows[0]["xmin"], rows[0]["ymax"]) == pytest.approx((0.1, 0.45))
    assert json.loads(rows[2]["shape"]) == TRIANGLE
    assert all(row["refinements"] == [] for row in rows)
