"""Building an archive export: the image files as stored (never decoded or re-encoded) and the
format's own files, in one streaming ZIP written to media storage.

One pass over the records, a page at a time, so memory stays flat at any size: a batch of
images is re-checked as still public (an image hidden meanwhile is left out), their files are
copied into the ZIP and the records kept go to a spool file, from which the format's files are
written last.
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice

import orjson
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import F

from donations.models import Image

from . import formats
from .lookups import AnyOf

ARCHIVE_FORMATS = ("coco", "voc", "yolo", "yolo_seg", "imagefolder")
# Images re-checked as still public in one query, just before their files are copied.
STILL_PUBLIC_BATCH = 500
PERMISSIONS = 0o644
# The copy buffer: a photo fits in one read, a bigger file goes through in pieces.
COPY_BYTES = 1024 * 1024
# Batches of files queued for the copying thread at most.
COPIES_AHEAD = 2
Progress = Callable[[int], None]


class _Archive(zipfile.ZipFile):
    """zipfile's writer with one addition: stored members whose size and CRC-32 are known
    beforehand (recorded at ingest). zipfile's own writer hashes every byte as it goes and
    then seeks back to patch the header; these are written as their complete local header
    and then the bytes, the way zipfile's own `mkdir` writes a header it knows."""

    def write_known(self, member: zipfile.ZipInfo, header: bytes, source, *, buffer):
        """Write `member` as its ready local `header` and the whole of `source`, read through
        Python (a file not on this machine's disk, or an archive that is not)."""
        with self._lock:
            self.fp.seek(self.start_dir)
            self._entered(member, offset=self.start_dir)
            self.fp.write(header)
            _bytes_copy(source, self.fp, size=member.file_size, buffer=buffer)
            self.start_dir = self.fp.tell()

    def write_local(self, path: str, members: list[tuple], *, size: int) -> bool:
        """Write the members of the file at `path` on this machine's disk, whose size and
        CRC are known, each as its ready local header and the file's bytes, copied by the
        kernel (sendfile, as cp does; the bytes never pass through Python). False, with
        nothing written, when the archive is not a file on this disk or the file is no
        longer `size` bytes long (its recorded CRC describes it no more).

        The fewest steps between two copies (no file object, no header to work out): alone
        it copies as fast as cp does."""
        target = _descriptor(self.fp)
        if target is None:
            return False
        source = os.open(path, os.O_RDONLY)
        try:
            if os.fstat(source).st_size != size:
                return False
            with self._lock:
                self.fp.flush()
                offset = os.lseek(target, self.start_dir, os.SEEK_SET)
                for member, header in members:
                    self._entered(member, offset=offset)
                    _write_all(target, header)
                    _send_all(target, source, size=size, name=path)
                    offset += len(header) + size
                # The buffered file learns where the kernel left the descriptor.
                self.start_dir = self.fp.seek(offset)
        finally:
            os.close(source)
        return True

    def _entered(self, member: zipfile.ZipInfo, *, offset: int) -> None:
        """Enter `member`, about to be written from `offset`, as zipfile's writers do."""
        if self._writing:
            raise ValueError("Another member of the archive is being written.")
        member.header_offset = offset
        self._writecheck(member)
        self._didModify = True
        self.filelist.append(member)
        self.NameToInfo[member.filename] = member


def _write_all(target: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(target, view) :]


def _send_all(target: int, source: int, *, size: int, name: str) -> None:
    """The first `size` bytes of the descriptor `source` to `target`, by the kernel."""
    sent = 0
    while sent < size:
        count = os.sendfile(target, source, sent, size - sent)
        if not count:
            raise OSError(f"{name} ended {size - sent} bytes early.")
        sent += count


def _descriptor(file) -> int | None:
    """The descriptor of a file on this machine's disk (storage's File wraps one), else None."""
    file = getattr(file, "file", file)
    if isinstance(file, io.BufferedReader | io.BufferedWriter | io.BufferedRandom | io.FileIO):
        return file.fileno()
    return None


def _bytes_copy(source, target, *, size: int, buffer: memoryview) -> None:
    """Exactly `size` bytes of `source` to `target`; a file that turns out shorter or longer
    than its header says would make the archive unreadable, so it is an error."""
    left = size
    while left:
        read = source.readinto(buffer[: min(left, len(buffer))])
        if not read:
            raise OSError(f"{getattr(source, 'name', 'A file')} ended {left} bytes early.")
        target.write(buffer[:read])
        left -= read
    if source.readinto(buffer[:1]):
        raise OSError(f"{getattr(source, 'name', 'A file')} is longer than {size} bytes.")


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


def _batches(pages: Iterable[list[tuple[dict, str]]]) -> Iterator[list[tuple[dict, str]]]:
    pairs = (pair for page in pages for pair in page)
    while batch := list(islice(pairs, STILL_PUBLIC_BATCH)):
        yield batch


def _still_public(batch: list[tuple[dict, str]]) -> dict[str, tuple[int, int | None]]:
    """The batch's images that are still public, by id: their files' recorded size and CRC."""
    ids = [uuid.UUID(record["id"]) for record, _ in batch]
    rows = (
        Image.objects.public().filter(AnyOf(F("pk"), ids)).values_list("pk", "byte_size", "crc32")
    )
    return {str(pk): (size, crc) for pk, size, crc in rows}


def _stored_members(paths: list[str], *, size: int, crc: int | None, modified: datetime):
    """A file's members (one per path in the archive), each with its local header when the
    CRC is known: worked out before the copy, so that the copying thread has little else
    to do."""
    members = []
    for path in paths:
        member = _member(path, modified, zipfile.ZIP_STORED)
        header = None
        if crc is not None:
            member.file_size = member.compress_size = size
            member.CRC = crc
            # ZIP64 sizes in the local header only when the size needs them, as zipfile does.
            header = member.FileHeader()
        members.append((member, header))
    return members


def _images_copy(archive: _Archive, files: list[tuple]) -> int:
    """Copy a batch of (stored name, members, size, CRC) into the archive; returns how many
    files."""
    buffer = memoryview(bytearray(COPY_BYTES))
    local = isinstance(default_storage, FileSystemStorage)
    for stored, members, size, crc in files:
        path = default_storage.path(stored) if local and crc is not None else None
        if path and archive.write_local(path, members, size=size):
            continue
        with default_storage.open(stored, "rb") as source:
            actual = source.size
            # A CRC describes the file only while it is as long as it was at ingest.
            known = crc is not None and actual == size
            for number, (member, header) in enumerate(members):
                if number:
                    source.seek(0)
                if known:
                    archive.write_known(member, header, source, buffer=buffer)
                else:
                    member.file_size = actual  # for zipfile's choice of ZIP64 or not
                    with archive.open(member, "w") as target:
                        _bytes_copy(source, target, size=actual, buffer=buffer)
    return len(files)


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

    The image files are stored as they are (a photo does not compress). A file whose CRC-32
    was recorded at ingest is copied without being hashed again; any other one gets its CRC
    worked out on the way, by zipfile.

    The files are copied by a thread of its own while this one reads the next batch from the
    database: the copy is system calls (the GIL released), the records are Python and
    waiting on queries, so each goes on while the other waits. The copies run in order, one
    batch at a time; this thread alone touches the database and reports progress."""
    modified = datetime.now(UTC)
    kept_count = 0
    with tempfile.TemporaryFile() as kept, _Archive(output, "w") as archive:
        copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-copy")
        copies: deque[Future[int]] = deque()

        def copied(finished: Future[int]) -> None:
            nonlocal kept_count
            for _ in range(finished.result()):
                kept_count += 1
                progress(kept_count)

        try:
            for batch in _batches(pages):
                public = _still_public(batch)
                files = []
                for record, stored in batch:
                    if record["id"] not in public:
                        continue
                    size, crc = public[record["id"]]
                    paths = _image_paths(export_format, record)
                    members = _stored_members(paths, size=size, crc=crc, modified=modified)
                    files.append((stored, members, size, crc))
                    kept.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                copies.append(copier.submit(_images_copy, archive, files))
                # No more than COPIES_AHEAD batches wait, so memory stays flat when the
                # copies are the slower side (storage far away).
                while copies and (copies[0].done() or len(copies) > COPIES_AHEAD):
                    copied(copies.popleft())
            while copies:
                copied(copies.popleft())
        finally:
            # On a failure, the batches not yet started are dropped.
            copier.shutdown(cancel_futures=True)
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
