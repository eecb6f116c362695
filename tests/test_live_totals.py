"""The home page's live totals, over a real websocket to the site's ASGI application."""

import contextlib

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from donations.models import Image, ImageStatus
from donations.services import image_review
from imagemonkey_site.asgi import application

from .contributors.browser import donate
from .factories import ContributorFactory, ImageFactory, ModeratorFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_channel_layer", "close_worker_connections"),
]

LOCAL_ORIGIN = [(b"origin", b"http://localhost")]
# Generous, as on Redis (CI) each announcement makes a round trip through the server; a
# passing test never waits this long, it only bounds how long a failing one hangs.
TIMEOUT = 5


@pytest.fixture
async def open_feed():
    """Connects to /ws/totals/ and disconnects again at the end of the test."""
    communicators = []

    async def connect(headers=LOCAL_ORIGIN) -> tuple[WebsocketCommunicator, bool]:
        communicator = WebsocketCommunicator(application, "/ws/totals/", headers=headers)
        communicators.append(communicator)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        return communicator, connected

    yield connect
    for communicator in communicators:
        with contextlib.suppress(Exception):
            await communicator.disconnect()


def make_site() -> dict:
    """Two public and two pending images from one donor, a merged identity and a moderator."""
    donor = ContributorFactory()
    ContributorFactory(merged_into=donor)
    ImageFactory.create_batch(2, donor=donor, status=ImageStatus.UNLOCKED)
    pending = ImageFactory.create_batch(2, donor=donor)
    return {"pending": pending, "moderator": ModeratorFactory()}


def totals(images: int, pending: int, contributors: int) -> dict:
    return {
        "type": "totals",
        "totals": {"images": images, "pending": pending, "contributors": contributors},
    }


async def test_connecting_sends_the_current_totals(open_feed):
    await database_sync_to_async(make_site)()

    feed, connected = await open_feed()

    assert connected
    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(2, 2, 1)


async def test_unlocking_a_pending_image_pushes_new_totals(open_feed):
    site = await database_sync_to_async(make_site)()
    feed, _ = await open_feed()
    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(2, 2, 1)

    await database_sync_to_async(image_review)(
        image_ids=[site["pending"][0].pk],
        decision=ImageStatus.UNLOCKED,
        reviewer=site["moderator"],
    )

    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(3, 1, 1)


async def test_every_open_feed_receives_the_new_totals(open_feed):
    site = await database_sync_to_async(make_site)()
    feeds = [(await open_feed())[0] for _ in range(2)]
    for feed in feeds:
        await feed.receive_json_from(timeout=TIMEOUT)

    await database_sync_to_async(image_review)(
        image_ids=[image.pk for image in site["pending"]],
        decision=ImageStatus.UNLOCKED,
        reviewer=site["moderator"],
    )

    for feed in feeds:
        assert await feed.receive_json_from(timeout=TIMEOUT) == totals(4, 0, 1)


def review_rolled_back(*, image_ids, decision, reviewer) -> None:
    with contextlib.suppress(RuntimeError), transaction.atomic():
        image_review(image_ids=image_ids, decision=decision, reviewer=reviewer)
        raise RuntimeError("rolled back after the review")


async def test_review_that_is_rolled_back_announces_nothing(open_feed):
    site = await database_sync_to_async(make_site)()
    first, second = site["pending"]
    feed, _ = await open_feed()
    await feed.receive_json_from(timeout=TIMEOUT)

    await database_sync_to_async(review_rolled_back)(
        image_ids=[first.pk], decision=ImageStatus.UNLOCKED, reviewer=site["moderator"]
    )
    assert await Image.objects.filter(pk=first.pk, status=ImageStatus.PENDING).aexists()
    # A rejection changes only `pending`; an announcement of the rolled-back unlock would have
    # shown 3 public images and arrived first.
    await database_sync_to_async(image_review)(
        image_ids=[second.pk], decision=ImageStatus.REJECTED, reviewer=site["moderator"]
    )

    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(2, 1, 1)


async def test_review_of_an_already_decided_image_announces_nothing(open_feed):
    site = await database_sync_to_async(make_site)()
    first, second = site["pending"]
    feed, _ = await open_feed()
    await feed.receive_json_from(timeout=TIMEOUT)
    await database_sync_to_async(image_review)(
        image_ids=[first.pk], decision=ImageStatus.UNLOCKED, reviewer=site["moderator"]
    )
    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(3, 1, 1)

    await database_sync_to_async(image_review)(
        image_ids=[first.pk], decision=ImageStatus.REJECTED, reviewer=site["moderator"]
    )
    # If the no-op above had announced, its unchanged totals would arrive before these.
    await database_sync_to_async(image_review)(
        image_ids=[second.pk], decision=ImageStatus.REJECTED, reviewer=site["moderator"]
    )

    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(3, 0, 1)


def donate_anonymously() -> int:
    response = donate(Client(enforce_csrf_checks=True), seed=7)
    return response.status_code


async def test_anonymous_donation_pushes_one_more_pending_image_and_contributor(open_feed):
    await database_sync_to_async(make_site)()
    feed, _ = await open_feed()
    await feed.receive_json_from(timeout=TIMEOUT)

    assert await database_sync_to_async(donate_anonymously)() == 201

    assert await feed.receive_json_from(timeout=TIMEOUT) == totals(2, 3, 2)


async def test_message_from_the_client_gets_an_error_reply(open_feed):
    feed, _ = await open_feed()
    await feed.receive_json_from(timeout=TIMEOUT)

    await feed.send_json_to({"type": "totals", "totals": {"images": 10**6}})

    assert await feed.receive_json_from(timeout=TIMEOUT) == {
        "type": "error",
        "detail": "This feed is read-only.",
    }


@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"https://evil.example")],
        [(b"origin", b"http://localhost.evil.example")],
        [],
    ],
    ids=["foreign-origin", "look-alike-origin", "no-origin"],
)
async def test_connection_from_a_foreign_origin_is_refused(open_feed, headers):
    _, connected = await open_feed(headers=headers)

    assert not connected


@pytest.mark.parametrize(
    "frame", [{"text_data": "not json"}, {"bytes_data": b"\x00"}], ids=["text", "binary"]
)
async def test_message_that_is_not_json_gets_an_error_reply_and_the_feed_stays_open(
    open_feed, frame
):
    feed, _ = await open_feed()
    await feed.receive_json_from(timeout=TIMEOUT)

    for _ in range(2):
        await feed.send_to(**frame)

        assert await feed.receive_json_from(timeout=TIMEOUT) == {
            "type": "error",
            "detail": "This feed is read-only.",
        }
