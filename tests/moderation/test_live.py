"""The moderators' live dashboard and the public activity feed, over real websockets to the
site's ASGI application (the Redis channel layer in CI's scaled run, in-process otherwise)."""

import contextlib

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from donations.models import ImageStatus
from imagemonkey_site import live as site_live
from imagemonkey_site.asgi import application
from moderation.services import alert_raise, report_submit
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    UserFactory,
    VoterFactory,
)
from validations.services import record_answer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_channel_layer", "close_worker_connections"),
]

TIMEOUT = 5


def session_of(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def headers(session_key: str | None = None) -> list:
    pairs = [(b"origin", b"http://localhost")]
    if session_key:
        pairs.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return pairs


def moderator_session() -> str:
    moderator = ModeratorFactory()
    moderator.user_permissions.add(*Permission.objects.filter(content_type__app_label="moderation"))
    return session_of(moderator)


@contextlib.asynccontextmanager
async def socket(path: str, session_key: str | None = None):
    communicator = WebsocketCommunicator(application, path, headers=headers(session_key))
    connected, code = await communicator.connect(timeout=TIMEOUT)
    try:
        yield communicator, connected, code
    finally:
        with contextlib.suppress(Exception):
            await communicator.disconnect()


async def test_the_dashboard_feed_sends_the_state_then_each_new_report():
    session_key = await database_sync_to_async(moderator_session)()
    image = await database_sync_to_async(ImageFactory)(status=ImageStatus.UNLOCKED)
    reporter = await database_sync_to_async(ContributorFactory)()

    async with socket("/ws/moderation/", session_key) as (feed, connected, _):
        assert connected
        state = await feed.receive_json_from(timeout=TIMEOUT)
        assert state["type"] == "state"
        assert state["counts"] == {"open_reports": 0, "hidden": 0, "pending": 0, "open_alerts": 0}

        await database_sync_to_async(report_submit)(
            reporter=reporter, image_id=image.pk, reason="violence", network="n1"
        )

        update = await feed.receive_json_from(timeout=TIMEOUT)
    assert update["type"] == "update"
    assert update["counts"]["open_reports"] == 1
    assert str(image.pk) in update["report"]["text"]
    assert update["report"]["url"].startswith("/admin/moderation/reportcase/")


async def test_the_dashboard_feed_sends_new_alerts_and_hidden_counts():
    session_key = await database_sync_to_async(moderator_session)()
    image = await database_sync_to_async(ImageFactory)(status=ImageStatus.UNLOCKED)
    moderator_contributor = await database_sync_to_async(ContributorFactory)(trust_level=3)

    async with socket("/ws/moderation/", session_key) as (feed, _, _code):
        await feed.receive_json_from(timeout=TIMEOUT)
        await database_sync_to_async(alert_raise)(
            kind="report_burst",
            target_type="donations.image",
            target_id=str(image.pk),
            summary="Five reports in ten minutes",
        )
        alert = await feed.receive_json_from(timeout=TIMEOUT)
        # A moderator's report hides the image at once: the hidden count moves.
        await database_sync_to_async(report_submit)(
            reporter=moderator_contributor, image_id=image.pk, reason="sexual", network="n"
        )
        updates = [await feed.receive_json_from(timeout=TIMEOUT) for _ in range(2)]

    assert alert["alert"]["text"] == "Reports arriving fast: Five reports in ten minutes"
    assert alert["counts"]["open_alerts"] == 1
    assert max(update["counts"]["hidden"] for update in updates) == 1


@pytest.mark.parametrize("who", ["anonymous", "registered", "staff without the permission"])
async def test_only_staff_who_may_see_reports_can_join_the_dashboard_feed(who):
    def key():
        if who == "anonymous":
            return None
        return session_of(ModeratorFactory() if who.startswith("staff") else UserFactory())

    session_key = await database_sync_to_async(key)()

    async with socket("/ws/moderation/", session_key) as (_, connected, code):
        assert not connected
        assert code == 4403


async def test_the_home_feed_says_what_happened_but_never_who_or_which_image():
    site_live._last_sent.clear()
    item = await database_sync_to_async(lambda: ImageLabelFactory(label=LabelFactory(name="dog")))()
    voter = await database_sync_to_async(VoterFactory)()

    async with socket("/ws/totals/") as (feed, connected, _):
        assert connected
        await feed.receive_json_from(timeout=TIMEOUT)  # the totals
        await database_sync_to_async(record_answer)(
            contributor=voter, image_label=item, answer="yes"
        )
        message = await feed.receive_json_from(timeout=TIMEOUT)

    assert message == {"type": "activity", "text": "Someone validated “dog”"}
    assert str(item.image_id) not in str(message) and str(voter.pk) not in message["text"]


async def test_a_donation_appears_in_the_home_feed():
    site_live._last_sent.clear()
    from tests.contributors.browser import donate

    async with socket("/ws/totals/") as (feed, _, _code):
        await feed.receive_json_from(timeout=TIMEOUT)
        await database_sync_to_async(donate)(Client(), seed=5)
        messages = [await feed.receive_json_from(timeout=TIMEOUT) for _ in range(2)]

    assert {"type": "activity", "text": "A photo was donated"} in messages


def test_the_feed_sends_one_line_per_kind_in_its_interval(monkeypatch):
    site_live._last_sent.clear()
    sent = []
    monkeypatch.setattr(site_live, "group_send", lambda group, message: sent.append(message))
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")

    for _ in range(5):
        site_live.activity_send(kind="validated", label_id=dog.pk)
    site_live.activity_send(kind="validated", label_id=cat.pk)  # a busy site's feed is a sample
    site_live.activity_send(kind="labelled", label_id=dog.pk)

    assert [message["text"] for message in sent] == [
        "Someone validated “dog”",
        "Someone labelled an image “dog”",
    ]
