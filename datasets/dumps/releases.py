"""Releases kept in media storage: made by hand (`manage.py dataset_dump --release`) or every
DATASET_RELEASE_INTERVAL_HOURS by the `make_release` task, listed on /datasets/releases/."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone

from core.errors import DomainError

from ..models import DatasetRelease
from .sources import release_source
from .writer import MANIFEST, dump_write, file_entry, release_name

logger = logging.getLogger(__name__)
RELEASES_FOLDER = "releases"


def release_make(*, since: str | None = None, base_url: str = "") -> DatasetRelease:
    """Write a release (all of it, or what changed since the full release `since`) into media
    storage and record it for the releases page."""
    name = _free_name(release_name(timezone.now()))
    prefix = f"{RELEASES_FOLDER}/{name}"
    source = release_source(since) if since else None
    local = isinstance(default_storage, FileSystemStorage)
    directory = Path(default_storage.path(prefix)) if local else Path(tempfile.mkdtemp()) / name
    try:
        result = dump_write(directory=directory, name=name, since=source, base_url=base_url)
        manifest_entry = file_entry(directory, MANIFEST)
        size = 0
        for root, _dirs, files in os.walk(directory):
            for file_name in files:
                path = Path(root) / file_name
                size += path.stat().st_size
                if not local:
                    stored_name = f"{prefix}/{path.relative_to(directory).as_posix()}"
                    with open(path, "rb") as content:
                        default_storage.save(stored_name, File(content, name=file_name))
    except BaseException:
        _remove(prefix, directory, local=local)
        raise
    finally:
        if not local:
            shutil.rmtree(directory.parent, ignore_errors=True)
    manifest = result.manifest
    return DatasetRelease.objects.create(
        name=name,
        since=manifest["since"] or "",
        storage_prefix=prefix,
        counts=manifest["counts"],
        files=[*result.files, manifest_entry],
        byte_size=size,
    )


def _free_name(name: str) -> str:
    taken = set(DatasetRelease.objects.filter(name__startswith=name).values_list("name", flat=True))
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _remove(prefix: str, directory: Path, *, local: bool) -> None:
    if local:
        shutil.rmtree(directory, ignore_errors=True)
        return
    # Object storage has no folders to remove at once: the files saved so far, one by one.
    for root, _dirs, files in os.walk(directory):
        for file_name in files:
            stored = f"{prefix}/{(Path(root) / file_name).relative_to(directory).as_posix()}"
            try:
                default_storage.delete(stored)
            except Exception:  # cleaning up must not hide the error
                logger.exception("Could not delete %s of a failed release", stored)


def release_due(*, now=None) -> bool:
    """Whether the periodic release is due: switched on, and the newest release older than
    the interval (a minute's slack for the task's own start)."""
    hours = settings.DATASET_RELEASE_INTERVAL_HOURS
    if hours <= 0:
        return False
    latest = DatasetRelease.objects.order_by("-created_at").first()
    now = now or timezone.now()
    return latest is None or latest.created_at <= now - timedelta(hours=hours, minutes=-1)


def release_periodic(*, now=None) -> DatasetRelease | None:
    """The periodic task's work: a release when one is due, then the next run scheduled.
    A run that finds a recent release makes none and schedules nothing, so a second chain of
    runs (the command started twice) dies out instead of doubling the releases."""
    if not release_due(now=now):
        return None
    release = release_make()
    release_schedule_next()
    return release


def release_schedule_next() -> bool:
    """Queue the next periodic release DATASET_RELEASE_INTERVAL_HOURS from now (on a task
    backend that can run tasks later); False when it is off or the backend cannot."""
    from django_tasks import default_task_backend

    from .. import tasks

    hours = settings.DATASET_RELEASE_INTERVAL_HOURS
    if hours <= 0 or not default_task_backend.supports_defer:
        return False
    run_after = timezone.now() + timedelta(hours=hours)
    tasks.make_release.using(run_after=run_after).enqueue()
    return True


def release_download(*, reference: str) -> tuple[DatasetRelease, str]:
    """The release and stored file a download names ("<release>/<file>"): one of the files the
    release lists, or one of its image files."""
    release_name_, _, file_name = reference.partition("/")
    release = DatasetRelease.objects.filter(name=release_name_).first()
    listed = release is not None and any(f["name"] == file_name for f in release.files)
    image = (
        release is not None
        and file_name.startswith("images/")
        and ".." not in file_name.split("/")
        and not file_name.startswith("/")
    )
    if not (listed or image):
        raise DomainError("There is no such release file.", code="not_found", status=404)
    stored = f"{release.storage_prefix}/{file_name}"
    if not default_storage.exists(stored):
        raise DomainError(
            "This release's files are no longer in storage.", code="release_gone", status=410
        )
    return release, stored
