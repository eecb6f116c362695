"""Where an earlier release is read from: a folder on this machine or a release kept in media
storage (by its name on the releases page)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import orjson
from django.core.files.storage import default_storage

from core.errors import DomainError


class ReleaseSource:
    def open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def manifest(self) -> dict:
        try:
            with self.open("manifest.json") as file:
                return orjson.loads(file.read())
        except (OSError, orjson.JSONDecodeError) as error:
            raise DomainError(
                f"{self} has no readable manifest.json ({error}).", code="dump_no_manifest"
            ) from None


class FolderSource(ReleaseSource):
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def open(self, name: str) -> IO[bytes]:
        return open(self.directory / name, "rb")

    def __str__(self) -> str:
        return str(self.directory)


class StoredSource(ReleaseSource):
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/")

    def open(self, name: str) -> IO[bytes]:
        return default_storage.open(f"{self.prefix}/{name}", "rb")

    def __str__(self) -> str:
        return self.prefix


def release_source(reference: str) -> ReleaseSource:
    """A folder's path, or the name of a release in media storage."""
    from ..models import DatasetRelease

    release = DatasetRelease.objects.filter(name=reference).first()
    if release is not None:
        return StoredSource(release.storage_prefix)
    if Path(reference).is_dir():
        return FolderSource(Path(reference))
    raise DomainError(
        f"{reference!r} is neither a release on the releases page nor a folder.",
        code="dump_unknown_release",
    )
