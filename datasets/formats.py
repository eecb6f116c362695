"""Writers of the streamed formats: records in, bytes out, a chunk at a time.

Each writer is a generator over `export_records`, so memory holds one page of images whatever
the export's size; orjson encodes (several times faster than the standard library).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

import orjson

MEDIA_TYPES = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
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
CHUNK_RECORDS = 50


def json_chunks(header: dict, records: Iterable[dict]) -> Iterator[bytes]:
    """One JSON document: the header's fields, then "images": [...]."""
    opening = orjson.dumps(header)[:-1] + b',"images":['
    yield opening
    chunk, first = [], True
    for record in records:
        chunk.append(orjson.dumps(record))
        if len(chunk) >= CHUNK_RECORDS:
            yield (b"" if first else b",") + b",".join(chunk)
            chunk, first = [], False
    if chunk:
        yield (b"" if first else b",") + b",".join(chunk)
    yield b"]}\n"


def jsonl_chunks(header: dict, records: Iterable[dict]) -> Iterator[bytes]:
    """One image per line (the licence travels in the response headers and the README)."""
    chunk = []
    for record in records:
        chunk.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if len(chunk) >= CHUNK_RECORDS:
            yield b"".join(chunk)
            chunk = []
    if chunk:
        yield b"".join(chunk)


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
    for count, record in enumerate(records, start=1):
        writer.writerows(csv_rows(record))
        if count % CHUNK_RECORDS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


WRITERS = {"json": json_chunks, "jsonl": jsonl_chunks, "csv": csv_chunks}
