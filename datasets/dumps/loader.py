"""Checking a release and restoring it into an instance.

Every file is checked against its sha256 before anything is read into the database (a changed
or truncated dump is refused, naming the file); the restore is one transaction, so a refused
or failed load leaves the database as it was (and the image files it wrote are removed).
Ids are kept — image uuids, label ids and names, image-label ids… — and contributors come
back as new anonymous identities that keep their release pseudonym, so a dump of the restored
instance is byte for byte the release it came from.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import orjson
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from contributors.models import Contributor
from core.errors import DomainError
from donations.ingest import phash_bands
from donations.models import Image, ImageStatus
from donations.querysets import public_q
from labels_app.models import ImageLabel, ImageLabelState, Label, LabelKind, LabelTerm, TermKind
from labels_app.terms import term_normalise

from ..models import ContributorPseudonym
from .encoding import file_sha256, value_decode
from .pseudonyms import pseudonym_key, pseudonym_of
from .tables import SCHEMA_VERSION, TABLES, Table
from .writer import CHECKSUMS, FORMAT, MANIFEST

logger = logging.getLogger(__name__)
BATCH = 1000


def _refuse(message: str, code: str = "dump_refused") -> DomainError:
    return DomainError(f"{message} Nothing was loaded.", code=code)


def dump_verify(directory: Path) -> dict:
    """The release's manifest, once every file it lists and every image file in SHA256SUMS
    is there with its sha256; a DomainError naming the first file that is not."""
    directory = Path(directory)
    try:
        manifest = orjson.loads((directory / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise _refuse(f"{directory} has no {MANIFEST}: it is not a release.") from None
    except orjson.JSONDecodeError:
        raise _refuse(f"{MANIFEST} is not valid JSON: the dump is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(f"{MANIFEST} does not describe an ImageMonkey release.")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise _refuse(
            f"The release has schema version {manifest.get('schema_version')!r}; this site "
            f"reads version {SCHEMA_VERSION}."
        )
    listed = set()
    for entry in manifest.get("files", []):
        name = _safe_name(entry["name"])
        listed.add(name)
        _check_file(directory, name, sha256=entry["sha256"], size=entry["bytes"])
    if CHECKSUMS not in listed:
        raise _refuse(f"{MANIFEST} does not list {CHECKSUMS}.")
    images = sum(1 for _ in image_checksums(directory, listed=listed, check=True))
    if images != manifest["image_files"]["count"]:
        raise _refuse(
            f"{CHECKSUMS} lists {images} image files, the manifest says "
            f"{manifest['image_files']['count']}: the dump is incomplete."
        )
    return manifest


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise _refuse(f"The release names a file outside itself ({name[:100]!r}).")
    return str(path)


def _check_file(directory: Path, name: str, *, sha256: str, size: int | None = None) -> None:
    path = directory / name
    if not path.is_file():
        raise _refuse(f"{name} is missing: the dump is incomplete.")
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise _refuse(
            f"{name} is {actual} bytes, the manifest says {size}: it was truncated or changed."
        )
    if not hmac.compare_digest(file_sha256(path), sha256):
        raise _refuse(f"{name} does not match its sha256: it was changed or damaged.")


def image_checksums(directory: Path, *, listed: set[str], check: bool) -> Iterator[tuple]:
    """(name, sha256) of the image files in SHA256SUMS, in the images' order."""
    with open(directory / CHECKSUMS, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            digest, separator, name = line.rstrip("\n").partition("  ")
            if not separator or len(digest) != 64:
                raise _refuse(f"Line {number} of {CHECKSUMS} is not “sha256  name”.")
            if name in listed:
                continue
            name = _safe_name(name)
            if not name.startswith("images/"):
                raise _refuse(f"{CHECKSUMS} lists {name}, which is not an image file.")
            if check:
                _check_file(directory, name, sha256=digest)
            yield name, digest


def instance_holds_data() -> str:
    """What the instance holds already, in words ('' when it is empty)."""
    held = []
    for model, what in ((Image, "images"), (Label, "labels"), (ImageLabel, "image-labels")):
        count = model.objects.count()
        if count:
            held.append(f"{count:,} {what}")
    return ", ".join(held)


def dump_load(*, directory: Path, force: bool = False) -> dict[str, int]:
    """Restore the release in `directory`; returns the records added per table. Into an empty
    instance, or with `force` into one with data, adding only what is not there (rows whose id
    is there are left as they are)."""
    directory = Path(directory)
    manifest = dump_verify(directory)
    if manifest.get("since"):
        raise _refuse(
            f"{manifest['name']} is an incremental release (changes since "
            f"{manifest['since']}); load the full release instead.",
            code="dump_incremental",
        )
    held = instance_holds_data()
    if held and not force:
        raise _refuse(
            f"This database is not empty (it holds {held}); dataset_load restores into an "
            "empty instance. With --force it adds what the release has and the database "
            "lacks, changing nothing that is there.",
            code="dump_target_not_empty",
        )
    written: list[str] = []
    try:
        with transaction.atomic():
            restore = _Restore(directory, manifest, force=force, written=written)
            added = {table.name: restore.load(table) for table in TABLES}
            restore.finish()
    except IntegrityError as error:
        _files_remove(written)
        raise _refuse(f"The release conflicts with what the database holds ({error}).") from None
    except BaseException:
        _files_remove(written)
        raise
    return added


def _files_remove(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # cleaning up must not hide the error
            logger.exception("Could not delete restored file %s", name)


class _Restore:
    def __init__(self, directory: Path, manifest: dict, *, force: bool, written: list[str]):
        self.directory = directory
        self.manifest = manifest
        self.force = force
        self.written = written
        self.contributors = self._known_contributors() if force else {}
        listed = {entry["name"] for entry in manifest["files"]}
        self.image_files = image_checksums(directory, listed=listed, check=False)
        self.thumbnails: dict[str, dict[str, str]] = {}

    @staticmethod
    def _known_contributors() -> dict[str, int]:
        """Pseudonym → contributor of the instance: restored ones, and everyone under this
        instance's key (a release loaded back where it was made finds its contributors)."""
        key = pseudonym_key()
        known = {
            pseudonym_of(pk, key=key): pk
            for pk in Contributor.objects.values_list("pk", flat=True).iterator()
        }
        known.update(ContributorPseudonym.objects.values_list("pseudonym", "contributor_id"))
        return known

    def _records(self, table: Table) -> Iterator[list[dict]]:
        batch = []
        with open(self.directory / f"data/{table.name}.jsonl", "rb") as lines:
            for line in lines:
                batch.append(orjson.loads(line))
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _contributor_ids(self, pseudonyms: set[str]) -> None:
        missing = sorted(p for p in pseudonyms if p is not None and p not in self.contributors)
        if not missing:
            return
        made = Contributor.objects.bulk_create([Contributor() for _ in missing])
        ContributorPseudonym.objects.bulk_create(
            ContributorPseudonym(contributor_id=contributor.pk, pseudonym=pseudonym)
            for contributor, pseudonym in zip(made, missing, strict=True)
        )
        self.contributors.update(
            (pseudonym, contributor.pk)
            for contributor, pseudonym in zip(made, missing, strict=True)
        )

    def load(self, table: Table) -> int:
        model = table.model
        pseudonym_columns = [c for c in table.columns if c.kind == "pseudonym"]
        read, added = 0, 0
        for records in self._records(table):
            read += len(records)
            if table.name == "images":
                self._image_files_check(records)
            if self.force:
                present = set(
                    model.objects.filter(
                        pk__in=[value_decode(table.columns[0].kind, r["id"]) for r in records]
                    ).values_list("pk", flat=True)
                )
                if table.name == "labels":
                    self._labels_check(records, present)
                records = [
                    r
                    for r in records
                    if value_decode(table.columns[0].kind, r["id"]) not in present
                ]
            self._contributor_ids({r[c.name] for r in records for c in pseudonym_columns})
            if table.name == "images":
                self._image_files_write(records)
            rows = [self._row(table, record) for record in records]
            model.objects.bulk_create(rows, batch_size=BATCH)
            if table.name == "labels":
                self._label_extras(records)
            added += len(rows)
        expected = self.manifest["tables"][table.name]["records"]
        if read != expected:
            raise _refuse(
                f"data/{table.name}.jsonl holds {read} records, the manifest says {expected}."
            )
        return added

    def _row(self, table: Table, record: dict):
        values = {}
        for column in table.read_columns:
            value = record[column.name]
            field = column.field
            if column.kind == "pseudonym":
                values[field] = self.contributors[value] if value is not None else None
            else:
                values[field] = value_decode(column.kind, value)
        extra = _RESTORED_FIELDS.get(table.name)
        if extra is not None:
            values.update(extra(record))
        if table.name == "images":
            values.update(self.thumbnails.get(record["id"], {}))
        return table.model(**values)

    def _labels_check(self, records: list[dict], present: set[int]) -> None:
        names = {r["name"]: r["id"] for r in records}
        for pk, name in Label.objects.filter(name__in=names).values_list("pk", "name"):
            if names[name] != pk:
                raise _refuse(
                    f"The label {name!r} has id {names[name]} in the release and {pk} here; "
                    "a release adds to an instance only where its labels agree."
                )
        by_id = {r["id"]: r["name"] for r in records}
        for pk, name in Label.objects.filter(pk__in=present).values_list("pk", "name"):
            wanted = by_id[pk]
            if wanted != name:
                raise _refuse(
                    f"Label {pk} is {wanted!r} in the release and {name!r} here; a release "
                    "adds to an instance only where its labels agree."
                )

    def _label_extras(self, records: list[dict]) -> None:
        Label.parts.through.objects.bulk_create(
            [
                Label.parts.through(from_label_id=r["id"], to_label_id=part)
                for r in records
                for part in r["parts"]
            ],
            ignore_conflicts=True,
        )
        terms = []
        for r in records:
            words = [(TermKind.NAME, r["name"]), (TermKind.PLURAL, r["plural"])]
            words += [(TermKind.ALIAS, alias) for alias in r["aliases"]]
            seen = set()
            for kind, word in words:
                term = term_normalise(word)
                if term and term not in seen:
                    seen.add(term)
                    terms.append(LabelTerm(label_id=r["id"], term=term, display=word, kind=kind))
        LabelTerm.objects.bulk_create(terms, ignore_conflicts=True)

    def _image_files_check(self, records: list[dict]) -> None:
        """Each image record's file is the next one SHA256SUMS lists (both in id order), so
        every file restored was checked."""
        for record in records:
            listed = next(self.image_files, None)
            if listed is None or listed[0] != record["file"]:
                raise _refuse(f"{record['file'][:100]} is not listed in {CHECKSUMS}.")

    def _image_files_write(self, records: list[dict]) -> None:
        for record in records:
            name = record["file"]
            path = self.directory / name
            if default_storage.exists(name):
                with default_storage.open(name, "rb") as stored:
                    same = hashlib.file_digest(stored, "sha256").hexdigest() == file_sha256(path)
                if same:
                    continue
                raise _refuse(f"Media storage already has a different file named {name}.")
            with open(path, "rb") as source:
                saved = default_storage.save(name, File(source, name=path.name))
            self.written.append(saved)
            if saved != name:
                raise _refuse(f"Media storage would not take {name} under its name.")
            self._thumbnails_write(record, path)

    def _thumbnails_write(self, record: dict, path: Path) -> None:
        """The previews the site shows, made again from the file (they are not in a
        release)."""
        from django.conf import settings
        from django.core.files.base import ContentFile

        from donations.ingest import image_process

        try:
            processed = image_process(
                data=path.read_bytes(),
                max_bytes=10**10,
                max_pixels=10**10,
                jpeg_quality=settings.DONATION_JPEG_QUALITY,
                thumbnail_sizes=settings.DONATION_THUMBNAIL_SIZES,
            )
        except DomainError:
            logger.warning("No previews for restored image %s", record["id"])
            return
        folder = record["id"].replace("-", "")[:2]
        names = {}
        for field_name, size in zip(
            ("thumbnail_small", "thumbnail_large"), sorted(processed.thumbnails), strict=False
        ):
            name = default_storage.save(
                f"thumbnails/{folder}/{record['id']}-{size}.webp",
                ContentFile(processed.thumbnails[size]),
            )
            self.written.append(name)
            names[field_name] = name
        self.thumbnails[record["id"]] = names

    def finish(self) -> None:
        """The derived fields a release does not carry, and the id sequences past the ids
        restored (PostgreSQL)."""
        counts = (
            ImageLabel.objects.standing()
            .filter(image_id=OuterRef("pk"))
            .order_by()
            .values("image_id")
            .annotate(count=Count("pk"))
            .values("count")
        )
        Image.objects.update(label_count=Coalesce(Subquery(counts), 0))
        ImageLabel.objects.standing().filter(
            public_q("image__"),
            state=ImageLabelState.CONFIRMED,
            label__kind=LabelKind.OBJECT,
            annotation__isnull=True,
        ).update(needs_annotation=True)
        models = [table.model for table in TABLES] + [Contributor]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)


def _image_fields(record: dict) -> dict:
    band0, band1, band2, band3 = phash_bands(record["phash"])
    return {
        "status": ImageStatus.UNLOCKED,
        "cc0_confirmed": True,
        "phash_band0": band0,
        "phash_band1": band1,
        "phash_band2": band2,
        "phash_band3": band3,
    }


def _image_label_fields(record: dict) -> dict:
    return {"in_queue": record["state"] == ImageLabelState.OPEN}


_RESTORED_FIELDS = {
    "images": _image_fields,
    "image_labels": _image_label_fields,
    "annotations": lambda record: {"in_review": record["review_state"] == "open"},
    "quiz_questions": lambda record: {"in_queue": record["state"] == "open"},
}
