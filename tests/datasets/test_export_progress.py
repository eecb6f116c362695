"""Live progress of an archive export, over a real websocket to the site's ASGI application."""

import contextlib

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore

from datasets.models import ExportJob
from imagemonkey_site.asgi import application
from tests.factories import ContributorFactory, LabelFactory, submitted_annotation

from .conftest import RECT

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_channel_layer", "close_worker_connections"),
]

TIMEOUT = 5


def queued_job() -> tuple[ExportJob, str]:
    """A queued COCO job of one outlined image, and a session cookie of its owner."""
    submitted_annotation(label=LabelFactory(name="dog"), shapes=[RECT])
    owner = ContributorFactory()
    session = SessionStore()
    session["contributor_id"] = owner.pk
    session.create()
    job = ExportJob.objects.create(
        contributor=owner,
        params={"format": "coco", "query": "", "include_images": True},
        fingerprint="f" * 64,
        data_version="1",
        base_url="http://testserver",
    )
    return job, session.session_key


def headers(session_key: str | None) -> list:
    pairs = [(b"origin", b"http://localhost")]
    if session_key:
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={session_key}"
        pairs.append((b"cookie", cookie.encode()))
    return pairs


@contextlib.asynccontextmanager
async def feed(job_id, session_key):
    communicator = WebsocketCommunicator(
        application, f"/ws/exports/{job_id}/", headers=headers(session_key)
    )
    connected, code = await communicator.connect(timeout=TIMEOUT)
    try:
        yield communicator, connected, code
    finally:
        with contextlib.suppress(Exception):
            await communicator.disconnect()


async def test_the_owner_watches_progress_to_the_download_link():
    from datasets.services import export_archive_build

    job, session_key = await database_sync_to_async(queued_job)()
    async with feed(job.pk, session_key) as (communicator, connected, _):
        assert connected
        first = await communicator.receive_json_from(timeout=TIMEOUT)
        assert (first["type"], first["job"]["state"]) == ("progress", "queued")

        await database_sync_to_async(export_archive_build)(job_id=job.pk)

        seen = []
        while not seen or seen[-1]["state"] != "done":
            seen.append((await communicator.receive_json_from(timeout=TIMEOUT))["job"])
    assert seen[-1]["rows_done"] == seen[-1]["rows_total"] == 1
    assert seen[-1]["percent"] == 100.0
    assert seen[-1]["download_url"].startswith("/api/exports/download/")


async def test_nobody_else_can_watch_a_job():
    job, _ = await database_sync_to_async(queued_job)()

    async with feed(job.pk, None) as (_, connected, code):
        assert not connected
        assert code == 4404
