"""The archive formats' own files, as (name in the archive, bytes), from export records.

Pure functions over `export_records`: Pascal VOC XML, YOLO label files with their data.yaml,
and the ImageFolder paths of each image. The archive job adds the image files themselves,
under `VOC_IMAGES`, `YOLO_IMAGES` or the paths `imagefolder_paths` gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from xml.etree import ElementTree

import yaml

from .formats import coco_segment

VOC_IMAGES = "JPEGImages"
VOC_ANNOTATIONS = "Annotations"
YOLO_IMAGES = "images"
YOLO_LABELS = "labels"
# Hugging Face infers splits from folder names anywhere in a path ("train", "test", "val", …
# followed by a space, digit or punctuation): without this top folder an export with the
# catalog's "train" label would load as only the images of trains. Under it, every image is
# in the train split, whatever its label.
IMAGEFOLDER_SPLIT = "train"
YOLO_DECIMALS = 6
# Characters no XML 1.0 document can hold, not even escaped.
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Path separators, control characters and what Windows refuses in a file name.
PATH_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def _stem(file_name: str) -> str:
    return PurePosixPath(file_name).stem


def _shapes(record: dict) -> Iterator[tuple[str, dict]]:
    for annotation in record["annotations"]:
        for shape in annotation["shapes"]:
            yield annotation["label"], shape


def _xml_text(value: str) -> str:
    return XML_INVALID.sub("", value)


def _sub(parent: ElementTree.Element, tag: str, text: object) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    element.text = str(text)
    return element


def voc_box(bbox_pixels: dict, width: int, height: int) -> tuple[int, int, int, int]:
    """A box in continuous pixel coordinates (0 at the image's left edge, `width` at its
    right) as the VOC devkit's 1-based, inclusive pixel indices: the first covered pixel's
    index is its left edge + 1, the last one's is the right edge. So 16–96 is written
    17–96, and readers that subtract 1 from the minima (supervision, detectron2) get 16–96
    back. Edges round to the nearest pixel (float noise such as 16.000000000000004 must not
    widen a box); every box covers at least one pixel and stays inside the image."""
    xmin = min(round(bbox_pixels["xmin"]), width - 1) + 1
    ymin = min(round(bbox_pixels["ymin"]), height - 1) + 1
    xmax = min(max(round(bbox_pixels["xmax"]), xmin), width)
    ymax = min(max(round(bbox_pixels["ymax"]), ymin), height)
    return xmin, ymin, xmax, ymax


def voc_document(record: dict) -> bytes:
    """One image's Pascal VOC annotation: an object per shape, boxes in VOC pixel indices."""
    width, height = record["width"], record["height"]
    root = ElementTree.Element("annotation")
    _sub(root, "folder", VOC_IMAGES)
    _sub(root, "filename", record["file_name"])
    size = ElementTree.SubElement(root, "size")
    _sub(size, "width", width)
    _sub(size, "height", height)
    _sub(size, "depth", 3)
    _sub(root, "segmented", 0)
    for label, shape in _shapes(record):
        element = ElementTree.SubElement(root, "object")
        _sub(element, "name", _xml_text(label))
        _sub(element, "pose", "Unspecified")
        _sub(element, "truncated", 0)
        _sub(element, "difficult", 0)
        box = ElementTree.SubElement(element, "bndbox")
        corners = voc_box(shape["bbox_pixels"], width, height)
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), corners, strict=True):
            _sub(box, tag, value)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def voc_entries(records: Iterable[dict]) -> Iterator[tuple[str, bytes]]:
    """`Annotations/<stem>.xml` for every image (one without shapes has no objects)."""
    for record in records:
        yield f"{VOC_ANNOTATIONS}/{_stem(record['file_name'])}.xml", voc_document(record)


def _clamped(value: float) -> float:
    return min(1.0, max(0.0, value))


def yolo_line(shape: dict, class_index: int, width: int, height: int, *, segmentation: bool) -> str:
    """`class cx cy w h`, or `class x1 y1 x2 y2 …` for segmentation, all in [0, 1]: Ultralytics
    skips as corrupt an image whose label file has a coordinate outside, so an ellipse past
    the image's edge has its points clamped to it. Ellipses are COCO's 32-point polygon,
    scaled back."""
    if segmentation:
        polygon, _, _ = coco_segment(shape, width, height)
        values = [_clamped(c / (height if i % 2 else width)) for i, c in enumerate(polygon)]
    else:
        box = shape["bbox"]
        values = [
            _clamped((box["xmin"] + box["xmax"]) / 2),
            _clamped((box["ymin"] + box["ymax"]) / 2),
            _clamped(box["xmax"] - box["xmin"]),
            _clamped(box["ymax"] - box["ymin"]),
        ]
    return " ".join([str(class_index), *(f"{v:.{YOLO_DECIMALS}f}" for v in values)])


def yolo_data_yaml(categories: list[dict]) -> bytes:
    """The dataset file. No `path:` key: Ultralytics then takes the folder of data.yaml as the
    root, where `path: .` would mean the trainer's working directory. Non-ASCII is written as
    escapes, the one form PyYAML reads back unchanged for every character."""
    names = [category["name"] for category in categories]
    document = {"train": YOLO_IMAGES, "val": YOLO_IMAGES, "nc": len(names), "names": names}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=False).encode()


def yolo_entries(
    records: Iterable[dict], *, categories: list[dict], segmentation: bool = False
) -> Iterator[tuple[str, bytes]]:
    """`labels/<stem>.txt` for every image, empty for one without shapes (a YOLO negative),
    then `data.yaml`. Class index = position in `categories`; labels outside them are left
    out, as in COCO."""
    class_of = {category["name"]: index for index, category in enumerate(categories)}
    for record in records:
        width, height = record["width"], record["height"]
        lines = [
            yolo_line(shape, class_of[label], width, height, segmentation=segmentation)
            for label, shape in _shapes(record)
            if label in class_of
        ]
        text = "".join(f"{line}\n" for line in lines)
        yield f"{YOLO_LABELS}/{_stem(record['file_name'])}.txt", text.encode()
    yield "data.yaml", yolo_data_yaml(categories)


def imagefolder_label(name: str) -> str:
    """A label name as one folder name: no separators, nothing Windows refuses, and no
    leading dot or underscore (Hugging Face skips hidden and `__` folders)."""
    safe = PATH_UNSAFE.sub("_", name).lstrip("._").rstrip(". ")
    return safe or "unnamed"


def imagefolder_paths(record: dict) -> list[str]:
    """`train/<label>/<file_name>` for each label the image shows (classification layout;
    an image with only negatives has none). Hugging Face's `imagefolder` takes the label
    from the folder name; no metadata file is written, since one would turn that off."""
    folders = dict.fromkeys(imagefolder_label(label["label"]) for label in record["labels"])
    return [f"{IMAGEFOLDER_SPLIT}/{folder}/{record['file_name']}" for folder in folders]
