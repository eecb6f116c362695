"""Building an archive export: the image files as stored (never decoded or re-encoded) and the
format's own files, in one streaming ZIP written to media storage.

Two passes over a spool file on disk, so memory stays flat at any size: first the records are
read from the database a page at a time; then, a page of them at a time, the images that are
still public are copied into the ZIP (an image hidden meanwhile is left out) and the records
kept go to a second spool, from which the format's files are written last.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice

import orjson
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

from donations.models import Image

from . import formats

ARCHIVE_FORMATS = ("coco", "voc", "yolo", "yolo_seg", "imagefolder")
# Images re-checked as still public in one query, just before their files are copied.
STILL_PUBLIC_BATCH = 500
PERMISSIONS = 0o644
Progress = Callable[[int], None]


def _replay(spool) -> Iterator[dict]:
    spool.seek(0)
    for line in spool:
        yield orjson.loads(line)


def _image_paths(export_format: str, record: dict) -> list[str]:
    """Where an image's file goes in the archive (ImageFolder: once per label)."""
    if export_format in ("coco", "json", "jsonl", "csv", "parquet"):
        return [f"images/{record['file_name']}"]
    from . import archive_formats

    if export_format == "imagefolder":
        return archive_formats.imagefolder_paths(record)
    folder = archive_formats.VOC_IMAGES if export_format == "voc" else archive_formats.YOLO_IMAGES
    return [f"{folder}/{record['file_name']}"]


def _text_members(export_format: str, header: dict, spool, *, categories) -> Iterator:
    """(name, chunks) of the format's own files, read from the spool of kept records."""
    if export_format == "coco":
        yield (
            "annotations/instances.json",
            formats.coco_chunks(header, _replay(spool), categories=categories),
        )
    elif export_format == "parquet":
        for table in ("images", "labels", "shapes"):
            chunks = list(formats.parquet_chunks(header, _replay(spool), table=table))
            yield f"{table}.parquet", chunks
    elif export_format in ("json", "jsonl", "csv"):
        yield f"export.{export_format}", formats.WRITERS[export_format](header, _replay(spool))
    elif export_format == "voc":
        from . import archive_formats

        yield from ((name, [data]) for name, data in archive_formats.voc_entries(_replay(spool)))
    elif export_format in ("yolo", "yolo_seg"):
        from . import archive_formats

        entries = archive_formats.yolo_entries(
            _replay(spool), categories=categories, segmentation=export_format == "yolo_seg"
        )
        yield from ((name, [data]) for name, data in entries)
    yield "README.txt", [_readme(header).encode()]


def _readme(header: dict) -> str:
    return (
        f"{header['notice']}\n\nDataset version {header['dataset_version']}."
        f"\nQuery: {header['query'] or '(everything)'}\n"
    )


def _member(name: str, modified: datetime, compression: int) -> zipfile.ZipInfo:
    member = zipfile.ZipInfo(name, date_time=modified.timetuple()[:6])
    member.compress_type = compression
    member.external_attr = PERMISSIONS << 16
    return member


def archive_write(
    *,
    export_format: str,
    header: dict,
    pages: Iterable[list[tuple[dict, str]]],
    categories: list[dict],
    output,
    progress: Progress,
) -> int:
    """Write the ZIP to the binary file `output`; returns the number of images in it.

    The image files are stored as they are (a photo does not compress) with zipfile straight
    from one read of each: no re-chunking on the way, so the copy runs near the disk's speed."""
    modified = datetime.now(UTC)
    kept_count = 0
    with (
        tempfile.TemporaryFile() as records,
        tempfile.TemporaryFile() as kept,
        zipfile.ZipFile(output, "w") as archive,
    ):
        for page in pages:
            for record, stored in page:
                # The storage name rides along in the private spool only.
                line = orjson.dumps({**record, "_stored": stored}, option=orjson.OPT_APPEND_NEWLINE)
                records.write(line)
        replay = _replay(records)
        while batch := list(islice(replay, STILL_PUBLIC_BATCH)):
            public = {
                str(pk)
                for pk in Image.objects.public()
                .filter(pk__in=[record["id"] for record in batch])
                .values_list("pk", flat=True)
            }
            for record in batch:
                stored = record.pop("_stored")
                if record["id"] not in public:
                    continue
                with default_storage.open(stored, "rb") as file:
                    data = file.read()
                for path in _image_paths(export_format, record):
                    archive.writestr(_member(path, modified, zipfile.ZIP_STORED), data)
                kept.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                kept_count += 1
                progress(kept_count)
        kept.flush()
        for name, chunks in _text_members(export_format, header, kept, categories=categories):
            member = _member(name, modified, zipfile.ZIP_DEFLATED)
            with archive.open(member, "w", force_zip64=True) as text:
                for chunk in chunks:
                    text.write(chunk)
    return kept_count


def archive_store(name: str, write: Callable[[object], int]) -> tuple[str, int, int]:
    """Run `write(output)` into media storage under `name`; returns (stored name, images,
    bytes). A local folder is written in place (no second copy); other storage (S3) gets the
    finished file."""
    if isinstance(default_storage, FileSystemStorage):
        path = default_storage.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.part"
        try:
            with open(partial, "wb") as output:
                images = write(output)
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return name, images, os.path.getsize(path)
    with tempfile.TemporaryFile() as output:
        images = write(output)
        size = output.tell()
        output.seek(0)
        stored = default_storage.save(name, File(output, name=os.path.basename(name)))
    return stored, images, size
