"""Writing a release into a folder, one pass over each table in id order (flat memory at any
size): a keyset page of rows at a time goes to the table's JSON Lines and Parquet files, and
the images' pages copy their files as stored.

An incremental release (`since`) walks the earlier full release's JSON Lines beside the
database, both in id order, like a merge: a record that is new or not the same line as
before is written, an id only the earlier release has is listed in data/deletions.jsonl.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, transaction

from core.errors import DomainError

from . import croissant
from .encoding import (
    TableFiles,
    file_sha256,
    record_key,
    record_line,
    value_encode,
)
from .pseudonyms import Pseudonyms
from .sources import ReleaseSource
from .tables import SCHEMA_VERSION, TABLES, Table

PAGE_SIZE = 2000
FORMAT = "imagemonkey-dataset-release"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
README = "README.md"
CROISSANT = "croissant.json"
DELETIONS = "data/deletions.jsonl"
COPY_BYTES = 1024 * 1024


@dataclass
class DumpResult:
    directory: Path
    manifest: dict
    files: list[dict] = field(default_factory=list)


def table_records(table: Table, pseudonyms: Pseudonyms) -> Iterator[tuple[int, dict]]:
    """(order key, record) of every row of the table, in id order, a keyset page at a time
    (no OFFSET, whatever the depth)."""
    columns = table.read_columns
    fields = [column.field for column in columns]
    rows = table.rows().order_by("pk").values_list("pk", *fields)
    last = None
    while True:
        page = rows if last is None else rows.filter(pk__gt=last)
        batch = list(page[:PAGE_SIZE])
        if not batch:
            return
        last = batch[-1][0]
        records = [
            {
                column.name: value_encode(column.kind, value, pseudonyms)
                for column, value in zip(columns, row[1:], strict=True)
            }
            for row in batch
        ]
        if table.complete is not None:
            table.complete(records)
            names = [column.name for column in table.columns]
            records = [{name: record[name] for name in names} for record in records]
        for row, record in zip(batch, records, strict=True):
            yield record_key(row[0]), record


def _previous_lines(source: ReleaseSource, table: Table) -> Iterator[tuple[int, bytes]]:
    with source.open(f"data/{table.name}.jsonl") as lines:
        for line in lines:
            yield record_key(orjson.loads(line)["id"]), line


def _changes(
    current: Iterator[tuple[int, dict, bytes]], previous: Iterator[tuple[int, bytes]]
) -> Iterator[tuple[str, object]]:
    """("write", (record, line)) for each record new or changed since, ("delete", id) for
    each id gone: a merge of two walks in the same id order."""
    before = next(previous, None)
    for key, record, line in current:
        while before is not None and before[0] < key:
            yield "delete", orjson.loads(before[1])["id"]
            before = next(previous, None)
        if before is not None and before[0] == key:
            if before[1] != line:
                yield "write", (record, line)
            before = next(previous, None)
        else:
            yield "write", (record, line)
    while before is not None:
        yield "delete", orjson.loads(before[1])["id"]
        before = next(previous, None)


class _ImageCopier:
    """Copies image files as stored (never decoded) into the release, hashing as it goes."""

    def __init__(self, directory: Path, checksums) -> None:
        self.directory = directory
        self.checksums = checksums
        self.local = isinstance(default_storage, FileSystemStorage)
        self.count = 0
        self.bytes = 0
        self.buffer = bytearray(COPY_BYTES)

    def copy(self, name: str) -> None:
        target = self.directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.local:
            # The kernel copies (sendfile); the hash reads the copy back from the page cache.
            shutil.copyfile(default_storage.path(name), target)
            digest = file_sha256(target)
        else:
            hasher = hashlib.sha256()
            view = memoryview(self.buffer)
            with default_storage.open(name, "rb") as source, open(target, "wb") as output:
                while read := source.readinto(view):
                    hasher.update(view[:read])
                    output.write(view[:read])
            digest = hasher.hexdigest()
        self.checksums.write(f"{digest}  {name}\n")
        self.count += 1
        self.bytes += target.stat().st_size


def dump_write(
    *,
    directory: Path,
    name: str | None = None,
    since: ReleaseSource | None = None,
    base_url: str = "",
) -> DumpResult:
    """Write a release of everything public now into `directory` (new or empty); with
    `since`, only what changed since that full release, and what went."""
    from datasets.services import dataset_version

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise DomainError(
            f"{directory} is not empty; a release is written into a new folder.",
            code="dump_target_not_empty",
        )
    previous = since.manifest() if since is not None else None
    if previous is not None and previous.get("since"):
        raise DomainError(
            f"{previous['name']} is an incremental release; --since names a full one.",
            code="dump_since_incremental",
        )
    created = datetime.now(UTC).replace(microsecond=0)
    name = name or release_name(created)
    (directory / "data").mkdir(parents=True)
    pseudonyms = Pseudonyms()
    counts: dict[str, int] = {}
    catalog = hashlib.sha256()
    with (
        _snapshot(),
        open(directory / CHECKSUMS, "w", encoding="utf-8") as checksums,
        open(directory / DELETIONS, "wb") if since is not None else nullcontext() as deletions,
    ):
        copier = _ImageCopier(directory, checksums)
        deleted = 0
        for table in TABLES:
            files = TableFiles(table, directory)
            try:
                current = _lines(table, pseudonyms, catalog if table.name == "labels" else None)
                if since is None:
                    changes = (("write", (record, line)) for _key, record, line in current)
                else:
                    changes = _changes(current, _previous_lines(since, table))
                for action, item in changes:
                    if action == "delete":
                        deletions.write(record_line({"table": table.name, "id": item}))
                        deleted += 1
                        continue
                    record, line = item
                    if table.name == "images":
                        copier.copy(record["file"])
                    files.write(record, line)
            finally:
                files.close()
            counts[table.name] = files.count
        counts["image_files"] = copier.count
        if since is not None:
            counts["deletions"] = deleted
        manifest = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "name": name,
            "created_at": created.isoformat(),
            "since": previous["name"] if previous else None,
            "license": "CC0-1.0",
            "catalog_version": catalog.hexdigest()[:16],
            "dataset_version": dataset_version(),
            "counts": counts,
            "tables": {
                table.name: {
                    "jsonl": f"data/{table.name}.jsonl",
                    "parquet": f"data/{table.name}.parquet",
                    "records": counts[table.name],
                }
                for table in TABLES
            },
            "image_files": {"count": copier.count, "bytes": copier.bytes, "listed_in": CHECKSUMS},
        }
        data_names = [
            f"data/{table.name}.{suffix}" for table in TABLES for suffix in ("jsonl", "parquet")
        ]
        if since is not None:
            data_names.append(DELETIONS)
    files = [file_entry(directory, data_name) for data_name in data_names]
    (directory / README).write_text(_readme(manifest), encoding="utf-8")
    files.append(file_entry(directory, README))
    metadata = croissant.croissant_metadata(manifest, files=files, base_url=base_url)
    (directory / CROISSANT).write_bytes(orjson.dumps(metadata, option=orjson.OPT_INDENT_2))
    files.append(file_entry(directory, CROISSANT))
    with open(directory / CHECKSUMS, "a", encoding="utf-8") as checksums:
        for entry in files:
            checksums.write(f"{entry['sha256']}  {entry['name']}\n")
    files.append(file_entry(directory, CHECKSUMS))
    manifest["files"] = files
    (directory / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return DumpResult(directory=directory, manifest=manifest, files=files)


@contextmanager
def _snapshot() -> Iterator[None]:
    """On PostgreSQL, every table read from one snapshot (as pg_dump does), so a release
    never holds a vote whose image-label it missed. Not on SQLite, whose transactions here take
    the write lock (IMMEDIATE), nor inside a transaction already begun (tests)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _lines(table: Table, pseudonyms: Pseudonyms, catalog) -> Iterator[tuple[int, dict, bytes]]:
    for key, record in table_records(table, pseudonyms):
        line = record_line(record)
        if catalog is not None:
            catalog.update(line)
        yield key, record, line


def file_entry(directory: Path, name: str) -> dict:
    path = directory / name
    return {"name": name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def release_name(moment: datetime) -> str:
    return f"imagemonkey-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _readme(manifest: dict) -> str:
    counts = manifest["counts"]
    lines = [
        f"# ImageMonkey dataset release {manifest['name']}",
        "",
        "## CC0 1.0 Universal — public domain dedication",
        "",
        settings.EXPORT_NOTICE,
        "",
        "The contributors of ImageMonkey dedicated these images and everything said about "
        "them to the public domain under CC0 1.0 Universal: you may copy, modify, distribute "
        "and use them, even commercially, without asking permission. "
        "Full text: https://creativecommons.org/publicdomain/zero/1.0/legalcode",
        "",
        "## Contents",
        "",
    ]
    if manifest["since"]:
        lines += [
            f"Incremental: only what changed since {manifest['since']}; ids gone since then "
            "(hidden or removed) are listed in data/deletions.jsonl.",
            "",
        ]
    lines += [f"- {table}: {count:,}" for table, count in counts.items()]
    lines += [
        "",
        "Each table is in data/ as JSON Lines and as Parquet, sorted by id. Contributors "
        "appear only as pseudonyms, the same in every release. croissant.json describes the "
        "tables (MLCommons Croissant). Check every file with `sha256sum -c SHA256SUMS`.",
        "",
    ]
    return "\n".join(lines)


def directory_size(directory: Path) -> int:
    return sum(
        os.path.getsize(os.path.join(root, file))
        for root, _dirs, names in os.walk(directory)
        for file in names
    )
