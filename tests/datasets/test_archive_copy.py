"""Archives copy each image file once, naming the CRC-32 recorded at ingest; files whose CRC
is not known, or no longer describes them, are hashed on the way. Either way every entry
passes the ZIP check and holds the stored bytes."""

import importlib
import io
import zipfile
import zlib

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from datasets import archives
from datasets.services import ExportRequest, export_header, export_pages, export_select
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory

pytestmark = pytest.mark.django_db


def stored_bytes(image: Image) -> bytes:
    with default_storage.open(image.file.name, "rb") as file:
        return file.read()


def labelled_images(count: int) -> list[Image]:
    label = LabelFactory(name="dog")
    images = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(count)]
    for image in images:
        ImageLabelFactory(image=image, label=label, state=ImageLabelState.CONFIRMED, probability=1)
    return images


def archive_of_everything(path, *, export_format: str = "jsonl", output=None) -> zipfile.ZipFile:
    """The archive of every image, written to `path`, or into `output` when given."""
    selection = export_select(ExportRequest(format=export_format, include_images=True))

    def write(output) -> None:
        archives.archive_write(
            export_format=export_format,
            header=export_header(selection),
            pages=export_pages(selection, base_url="http://testserver"),
            categories=[],
            output=output,
            progress=lambda done: None,
        )

    if output is not None:
        write(output)
        return zipfile.ZipFile(output)
    with open(path, "wb") as file:
        write(file)
    return zipfile.ZipFile(path)


def test_ingest_records_the_crc32_of_the_stored_file():
    image = ImageFactory()

    assert image.crc32 == zlib.crc32(stored_bytes(image))
    assert image.byte_size == len(stored_bytes(image))


def test_files_with_known_unknown_and_outdated_crcs_all_pass_the_zip_check(tmp_path):
    known, unknown, replaced = labelled_images(3)
    Image.objects.filter(pk=unknown.pk).update(crc32=None)
    # A file that is no longer what ingest saw: its recorded CRC and size describe another.
    default_storage.delete(replaced.file.name)
    default_storage.save(replaced.file.name, ContentFile(b"other bytes, another length"))

    archive = archive_of_everything(tmp_path / "a.zip")

    assert archive.testzip() is None
    for image in (known, unknown, replaced):
        member = f"images/{image.pk}.jpg"
        assert archive.read(member) == stored_bytes(image)
        assert archive.getinfo(member).compress_type == zipfile.ZIP_STORED
        assert zlib.crc32(stored_bytes(image)) == archive.getinfo(member).CRC


def test_a_file_that_ends_early_or_runs_long_fails_the_copy():
    buffer = memoryview(bytearray(4))

    with pytest.raises(OSError, match="ended 2 bytes early"):
        archives._bytes_copy(io.BytesIO(b"12345678"), io.BytesIO(), size=10, buffer=buffer)
    with pytest.raises(OSError, match="longer than 6 bytes"):
        archives._bytes_copy(io.BytesIO(b"12345678"), io.BytesIO(), size=6, buffer=buffer)
    target = io.BytesIO()
    archives._bytes_copy(io.BytesIO(b"12345678"), target, size=8, buffer=buffer)
    assert target.getvalue() == b"12345678"


def test_the_migration_fills_in_the_crc_of_files_that_are_as_long_as_recorded():
    fill = importlib.import_module("donations.migrations.0004_image_crc32").crc32_fill
    intact, shortened = ImageFactory(), ImageFactory()
    Image.objects.update(crc32=None)
    default_storage.delete(shortened.file.name)
    default_storage.save(shortened.file.name, ContentFile(b"short"))

    fill(apps, None)

    assert Image.objects.get(pk=intact.pk).crc32 == zlib.crc32(stored_bytes(intact))
    assert Image.objects.get(pk=shortened.pk).crc32 is None


def test_files_on_this_disk_are_copied_by_the_kernel(tmp_path, monkeypatch):
    images = labelled_images(2)
    sent = []
    sendfile = archives.os.sendfile

    def recorded(out_fd, in_fd, offset, count):
        sent.append(count)
        return sendfile(out_fd, in_fd, offset, count)

    monkeypatch.setattr(archives.os, "sendfile", recorded)

    archive = archive_of_everything(tmp_path / "a.zip")

    assert sorted(sent) == sorted(len(stored_bytes(image)) for image in images)
    assert archive.testzip() is None
    for image in images:
        assert archive.read(f"images/{image.pk}.jpg") == stored_bytes(image)


def test_an_archive_that_is_not_a_file_on_this_disk_gets_every_member_through_python():
    # Written into memory (as into any storage without a local file): no kernel copy.
    images = labelled_images(3)

    archive = archive_of_everything(None, export_format="voc", output=io.BytesIO())

    assert archive.testzip() is None
    xml = sorted(name for name in archive.namelist() if name.endswith(".xml"))
    assert len(xml) == 3
    for image in images:
        assert archive.read(f"JPEGImages/{image.pk}.jpg") == stored_bytes(image)
        assert (
            f"<filename>{image.pk}.jpg</filename>"
            in archive.read(f"Annotations/{image.pk}.xml").decode()
        )
    assert b"CC0" in archive.read("README.txt")
