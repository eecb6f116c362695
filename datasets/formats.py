"""Writers of the streamed formats: records in, bytes out, a chunk at a time.

Each writer is a generator over `export_records`, so memory holds one page of images whatever
the export's size; orjson encodes (several times faster than the standard library).
"""

from __future__ import annotations

import csv
import io
import math
import tempfile
from collections.abc import Iterable, Iterator

import orjson

from annotations.shapes import shape_area

MEDIA_TYPES = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "coco": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
CSV_COLUMNS = (
    "image_id",
    "url",
    "width",
    "height",
    "label",
    "positive",
    "probability",
    "shape",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
    "xmin_px",
    "ymin_px",
    "xmax_px",
    "ymax_px",
)
# What the writers hand the server at a time: big enough that passing chunks on costs little,
# small enough that a chunk leaves the server's buffers before the next arrives.
CHUNK_BYTES = 64 * 1024
# The image-label fields an image's facts are written from (its outlines apart).
FACT_FIELDS = (
    "id",
    "image_id",
    "label_id",
    "state",
    "probability",
    "yes_count",
    "no_count",
    "unsure_count",
    "counted_votes",
)
CC0_URL = "https://creativecommons.org/publicdomain/zero/1.0/"


def _chunked(parts: Iterable[bytes]) -> Iterator[bytes]:
    """The parts joined into chunks of about CHUNK_BYTES."""
    chunk, size = [], 0
    for part in parts:
        chunk.append(part)
        size += len(part)
        if size >= CHUNK_BYTES:
            yield b"".join(chunk)
            chunk, size = [], 0
    if chunk:
        yield b"".join(chunk)


def _separated(entries: Iterable[bytes]) -> Iterator[bytes]:
    """JSON array entries with the commas between them."""
    separator = b""
    for entry in entries:
        yield separator
        yield entry
        separator = b","


JSON_CLOSING = b"]}\n"


def json_opening(header: dict) -> bytes:
    return orjson.dumps(header)[:-1] + b',"images":['


def json_chunks(header: dict, records: Iterable[dict]) -> Iterator[bytes]:
    """One JSON document: the header's fields, then "images": [...]."""
    yield json_opening(header)
    yield from _chunked(_separated(orjson.dumps(record) for record in records))
    yield JSON_CLOSING


def jsonl_chunks(header: dict, records: Iterable[dict]) -> Iterator[bytes]:
    """One image per line (the licence travels in the response headers and the README)."""
    newline = orjson.OPT_APPEND_NEWLINE
    return _chunked(orjson.dumps(record, option=newline) for record in records)


def csv_rows(record: dict) -> Iterator[tuple]:
    """Open Images style: one row per shape; a label without shapes and every negative get
    one row with empty box columns (positive = 1 or 0)."""
    base = (record["id"], record["url"], record["width"], record["height"])
    outlined = set()
    probability = {label["label"]: label["probability"] for label in record["labels"]}
    for annotation in record["annotations"]:
        outlined.add(annotation["label"])
        for shape in annotation["shapes"]:
            box, pixels = shape["bbox"], shape["bbox_pixels"]
            yield (
                *base,
                annotation["label"],
                1,
                probability.get(annotation["label"], ""),
                shape["type"],
                *(round(box[k], 6) for k in ("xmin", "ymin", "xmax", "ymax")),
                *(round(pixels[k], 2) for k in ("xmin", "ymin", "xmax", "ymax")),
            )
    empty = ("",) * 9
    for label in record["labels"]:
        if label["label"] not in outlined:
            yield (*base, label["label"], 1, label["probability"], *empty)
    for negative in record["negatives"]:
        yield (*base, negative["label"], 0, negative["probability"], *empty)


def csv_chunks(header: dict, records: Iterable[dict]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerows(csv_rows(record))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


ELLIPSE_POINTS = 32
# (cos t, sin t) at the polygon's steps round an ellipse, worked out once.
ELLIPSE_STEPS = tuple(
    (math.cos(t), math.sin(t))
    for t in (2 * math.pi * i / ELLIPSE_POINTS for i in range(ELLIPSE_POINTS))
)


def coco_segment(shape: dict, width: int, height: int) -> tuple[list, float, list]:
    """A shape as COCO sees it, in pixels: (polygon as x1, y1, x2, y2, …; area; bbox x, y, w, h).
    Ellipses become 32-point polygons; the area stays the shape's own (scaled from [0, 1])."""
    pixels = shape["pixels"]
    if shape["type"] == "rect":
        x, y, w, h = pixels["x"], pixels["y"], pixels["width"], pixels["height"]
        points = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    elif shape["type"] == "ellipse":
        cx, cy, rx, ry = pixels["cx"], pixels["cy"], pixels["rx"], pixels["ry"]
        points = [(cx + rx * cos, cy + ry * sin) for cos, sin in ELLIPSE_STEPS]
    else:
        points = pixels["points"]
    box = shape["bbox_pixels"]
    xmin, ymin = box["xmin"], box["ymin"]
    bbox = [
        round(xmin, 2),
        round(ymin, 2),
        round(box["xmax"] - xmin, 2),
        round(box["ymax"] - ymin, 2),
    ]
    polygon = [round(c, 2) for point in points for c in point]
    return polygon, round(shape_area(shape) * width * height, 2), bbox


# A COCO annotation (one shape) is numbered from its annotation's id: annotation id ×
# SHAPE_ID_STRIDE + its place among the shapes (from 1), the same in every export.
SHAPE_ID_STRIDE = 1000


def coco_fields(shape: dict, width: int, height: int) -> bytes:
    """A shape's COCO annotation fields from segmentation on, as JSON object members (no
    braces): what does not depend on the export it is in."""
    segment, area, bbox = coco_segment(shape, width, height)
    fields = {
        "segmentation": [segment],
        "area": area,
        "bbox": bbox,
        "iscrowd": 0,
        "attributes": shape.get("refinements", {}),
    }
    return orjson.dumps(fields)[1:-1]


def coco_annotation(*, shape_id: int, image_id: int, category_id: int, fields: bytes) -> bytes:
    return b'{"id":%d,"image_id":%d,"category_id":%d,%b}' % (
        shape_id,
        image_id,
        category_id,
        fields,
    )


COCO_BETWEEN = b'],"annotations":['
COCO_CLOSING = b"]}\n"


def coco_opening(header: dict, categories: list[dict]) -> bytes:
    """COCO instances JSON up to the first image entry."""
    info = {
        "description": header["notice"],
        "version": header["dataset_version"],
        "query": header["query"],
    }
    licence = {"id": 1, "name": "CC0 1.0", "url": CC0_URL}
    return (
        b'{"info":'
        + orjson.dumps(info)
        + b',"licenses":'
        + orjson.dumps([licence])
        + b',"categories":'
        + orjson.dumps(categories)
        + b',"images":['
    )


def coco_chunks(
    header: dict, records: Iterable[dict], *, categories: list[dict]
) -> Iterator[bytes]:
    """COCO instances JSON. Images stream out as they are read; their annotations wait in a
    temporary file (disk, not memory) and follow once the images are done — one pass over
    the database, image numbers that cannot shift. Negatives are listed per image as
    `neg_category_ids` (the LVIS convention)."""
    yield coco_opening(header, categories)
    # The spool's buffer bounds what waits in memory. The replay goes out a chunk at a time,
    # like the images: Daphne buffers whatever it is handed without backpressure, and blocks
    # of a megabyte read from disk piled up in it faster than a client took them.
    with tempfile.TemporaryFile(buffering=CHUNK_BYTES) as spool:
        yield from _chunked(_separated(_coco_images(records, categories, spool)))
        yield COCO_BETWEEN
        spool.seek(0)
        while block := spool.read(CHUNK_BYTES):
            yield block
    yield COCO_CLOSING


def _coco_images(records: Iterable[dict], categories: list[dict], spool) -> Iterator[bytes]:
    """Each record's COCO image entry, numbered from 1; its annotations are written to the
    spool, comma-separated."""
    category_of = {category["name"]: category["id"] for category in categories}
    separator = b""
    for number, record in enumerate(records, start=1):
        width, height = record["width"], record["height"]
        yield orjson.dumps(
            {
                "id": number,
                "file_name": record["file_name"],
                "width": width,
                "height": height,
                "license": 1,
                "coco_url": record["url"],
                "date_captured": record["donated"],
                "imagemonkey_id": record["id"],
                "neg_category_ids": [
                    category_of[n["label"]]
                    for n in record["negatives"]
                    if n["label"] in category_of
                ],
            }
        )
        for annotation in record["annotations"]:
            category = category_of.get(annotation["label"])
            if category is None:
                continue
            for place, shape in enumerate(annotation["shapes"], start=1):
                spool.write(separator)
                separator = b","
                spool.write(
                    coco_annotation(
                        shape_id=annotation["id"] * SHAPE_ID_STRIDE + place,
                        image_id=number,
                        category_id=category,
                        fields=coco_fields(shape, width, height),
                    )
                )


class _Sink:
    """A write-only file for pyarrow that hands over what was written since the last drain."""

    closed = False

    def __init__(self):
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _parquet_schemas():
    import pyarrow as pa

    box = [(name, pa.float64()) for name in ("xmin", "ymin", "xmax", "ymax")]
    box_pixels = [(f"{name}_px", pa.float64()) for name in ("xmin", "ymin", "xmax", "ymax")]
    return {
        "images": pa.schema(
            [
                ("image_id", pa.string()),
                ("url", pa.string()),
                ("file_name", pa.string()),
                ("width", pa.int32()),
                ("height", pa.int32()),
                ("donated", pa.string()),
                ("labels", pa.list_(pa.string())),
                ("negatives", pa.list_(pa.string())),
            ]
        ),
        "labels": pa.schema(
            [
                ("image_id", pa.string()),
                ("label", pa.string()),
                ("positive", pa.bool_()),
                ("probability", pa.float64()),
                ("yes", pa.int32()),
                ("no", pa.int32()),
                ("unsure", pa.int32()),
                ("votes", pa.int32()),
            ]
        ),
        "shapes": pa.schema(
            [
                ("image_id", pa.string()),
                ("label", pa.string()),
                ("revision", pa.int32()),
                ("shape_index", pa.int32()),
                ("type", pa.string()),
                *box,
                *box_pixels,
                ("shape", pa.string()),
                # A list of {key, value} rather than an Arrow map: the same data for DuckDB and
                # pyarrow, and Hugging Face datasets has no type for maps.
                (
                    "refinements",
                    pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())])),
                ),
            ]
        ),
    }


def _parquet_rows(table: str, record: dict) -> Iterator[dict]:
    image_id = record["id"]
    if table == "images":
        yield {
            "image_id": image_id,
            "url": record["url"],
            "file_name": record["file_name"],
            "width": record["width"],
            "height": record["height"],
            "donated": record["donated"],
            "labels": [label["label"] for label in record["labels"]],
            "negatives": [negative["label"] for negative in record["negatives"]],
        }
    elif table == "labels":
        for label in record["labels"]:
            yield {"image_id": image_id, "positive": True, **label}
        for negative in record["negatives"]:
            yield {"image_id": image_id, "positive": False, **negative}
    else:
        for annotation in record["annotations"]:
            for index, shape in enumerate(annotation["shapes"]):
                stored = {k: v for k, v in shape.items() if k in SHAPE_FIELDS}
                yield {
                    "image_id": image_id,
                    "label": annotation["label"],
                    "revision": annotation["revision"],
                    "shape_index": index,
                    "type": shape["type"],
                    **shape["bbox"],
                    **{f"{k}_px": v for k, v in shape["bbox_pixels"].items()},
                    "shape": orjson.dumps(stored).decode(),
                    "refinements": [
                        {"key": key, "value": value}
                        for key, value in shape.get("refinements", {}).items()
                    ],
                }


SHAPE_FIELDS = {"type", "x", "y", "width", "height", "cx", "cy", "rx", "ry", "points"}
PARQUET_ROW_GROUP_IMAGES = 500


def parquet_chunks(header: dict, records: Iterable[dict], *, table: str) -> Iterator[bytes]:
    """One table (images, labels or shapes) as a Parquet file, a row group per 500 images,
    each sent as soon as it is written; the dataset notice is in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schemas()[table].with_metadata(
        {"license": "CC0-1.0", "notice": header["notice"], "version": header["dataset_version"]}
    )
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    rows: list[dict] = []
    for count, record in enumerate(records, start=1):
        rows.extend(_parquet_rows(table, record))
        if count % PARQUET_ROW_GROUP_IMAGES == 0 and rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            rows = []
            yield sink.drain()
    if rows:
        writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    writer.close()
    yield sink.drain()


WRITERS = {
    "json": json_chunks,
    "jsonl": jsonl_chunks,
    "csv": csv_chunks,
    "coco": coco_chunks,
    "parquet": parquet_chunks,
}
# Writers that also need the category list.
WITH_CATEGORIES = {"coco"}
