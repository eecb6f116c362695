"""What the API's per-request trimming keeps and drops: JSON through orjson reads as DRF's
did, API requests pass the page-only middleware, and `manage.py serve` starts the server with
as many processes as the shared state allows."""

import contextvars
import datetime
import decimal
import http.client
import json
import os
import urllib.request
import uuid

import pytest
import websockets.sync.client
from django.core.management import CommandError, call_command
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from core.api.renderers import FastJSONRenderer
from core.cache import RedisCache
from imagemonkey_site.management.commands import serve
from labels_app.models import ImageLabelState
from tests.factories import ImageLabelFactory, UserFactory, VoterFactory, api_token_for
from tests.servers import server_processes

pytestmark = pytest.mark.django_db

SAMPLES = [
    {"when": datetime.datetime(2026, 12, 4, 9, 30, 1, 250, tzinfo=datetime.UTC)},
    {"day": datetime.date(2026, 2, 28), "at": datetime.time(23, 59)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "n": 2**40, "x": 0.25},
    {"price": decimal.Decimal("1.50"), "lazy": gettext_lazy("Not found."), "none": None},
    {"text": "line\u2028separator\u2029and émoji 🐒", "nested": [[{"a": [1, 2]}]]},
    {1: "integer key", "ok": True},
    [{"huge": 2**70}],
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_fast_renderer_writes_what_drfs_json_renderer_writes(data):
    fast = FastJSONRenderer().render(data, "application/json")
    standard = JSONRenderer().render(data, "application/json")

    assert json.loads(fast) == json.loads(standard)
    assert b"\xe2\x80\xa8" not in fast  # kept escaped for <script> contexts, as DRF does


def test_the_fast_renderer_writes_utc_times_with_a_z_as_drf_does():
    moment = datetime.datetime(2026, 12, 4, 9, 30, tzinfo=datetime.UTC)

    assert FastJSONRenderer().render({"t": moment}) == JSONRenderer().render({"t": moment})


def test_the_fast_renderer_indents_when_the_client_asks():
    rendered = FastJSONRenderer().render({"a": 1}, "application/json; indent=2")

    assert rendered == b'{\n  "a": 1\n}'


def test_api_json_comes_from_the_fast_renderer(client, settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    ImageLabelFactory()

    response = client.get("/api/validations/next/")

    assert isinstance(response.accepted_renderer, FastJSONRenderer)
    assert response.json()["question"].startswith("Does this image show")


def test_api_requests_skip_the_flash_messages_pages_keep(client):
    api = client.get("/api/labels/")
    page = client.get("/")

    assert not hasattr(api.wsgi_request, "_messages")
    assert hasattr(page.wsgi_request, "_messages")
    assert api["X-Frame-Options"] == page["X-Frame-Options"] == "DENY"


def test_serve_starts_one_process_per_core_when_state_is_shared(settings):
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache"}}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}

    workers = serve.server_workers()
    command = serve.server_command(host="127.0.0.1", port=8123, workers=workers)

    assert workers == serve.cores()
    assert command[command.index("--workers") + 1] == str(workers)
    assert command[2:4] == ["uvicorn", "imagemonkey_site.asgi:application"]
    assert {"uvloop", "httptools", "websockets-sansio", "--no-proxy-headers"} <= set(command)


def test_serve_keeps_the_embedded_mode_in_one_process(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    assert serve.server_workers() == 1
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("serve", "--no-worker", "--workers", "2")
    with pytest.raises(CommandError, match="at least 1"):
        serve.server_workers(0)


def test_redis_caches_of_different_requests_share_one_connection_pool():
    # Django keeps a cache object per async context: one per request under ASGI.
    def a_requests_cache():
        return RedisCache("redis://127.0.0.1:6379/9", {})

    first = contextvars.copy_context().run(a_requests_cache)
    second = contextvars.copy_context().run(a_requests_cache)
    other_database = RedisCache("redis://127.0.0.1:6379/10", {})

    pool = first._cache._get_connection_pool(write=True)
    assert first is not second
    assert second._cache._get_connection_pool(write=True) is pool
    assert other_database._cache._get_connection_pool(write=True) is not pool


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a Redis server)")
def test_many_requests_through_the_redis_cache_reuse_one_connection():
    url = os.environ["REDIS_URL"]
    caches = [contextvars.copy_context().run(RedisCache, url, {}) for _ in range(20)]

    for index, cache in enumerate(caches):
        cache.set(f"hot-path-test:{index}", index, timeout=30)
        assert cache.get(f"hot-path-test:{index}") == index

    pools = {id(pool): pool for pool in (c._cache._get_connection_pool(write=True) for c in caches)}
    opened = sum(
        len(pool._available_connections) + len(pool._in_use_connections) for pool in pools.values()
    )
    assert opened == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
    reason="needs REDIS_URL and a PostgreSQL DATABASE_URL: a separate server process shares "
    "the test database and the channel layer",
)
def test_the_served_stack_answers_the_api_streams_exports_and_keeps_websockets(settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    image_label = ImageLabelFactory()
    decided = ImageLabelFactory(state=ImageLabelState.CONFIRMED, probability=1, in_queue=False)
    voter = VoterFactory(user=UserFactory())
    headers = {"Authorization": f"Token {api_token_for(voter.user)}"}

    with server_processes(1, GOLD_RATE_AFTER_TRAINING="0", GOLD_RATE_FLOOR="0") as (port,):
        base = f"http://127.0.0.1:{port}"
        with websockets.sync.client.connect(
            f"ws://127.0.0.1:{port}/ws/totals/", origin=base, open_timeout=10
        ) as feed:
            first = json.loads(feed.recv(timeout=10))
            task = _http_json("GET", f"{base}/api/validations/next/", headers=headers)
            vote = _http_json(
                "POST",
                f"{base}/api/votes/",
                headers=headers,
                body={"image_label": task["image_label"], "answer": "yes"},
            )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/exports/?format=jsonl")
        export = connection.getresponse()
        exported = [json.loads(line) for line in export.read().decode().splitlines()]
        connection.close()

    assert first["type"] == "totals"
    assert task["image_label"] == image_label.pk
    assert vote["answer"] == "yes"
    assert export.status == 200
    assert export.getheader("Transfer-Encoding") == "chunked"  # streamed: no Content-Length
    assert [row["id"] for row in exported] == [str(decided.image_id)]


def _http_json(method: str, url: str, *, headers: dict, body: dict | None = None):
    request = urllib.request.Request(  # noqa: S310 - a local test server
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={**headers, "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())
