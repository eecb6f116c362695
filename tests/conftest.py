import copy
import uuid

import boto3
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from .factories import ModeratorFactory, RegisteredContributorFactory, api_token_for
from .s3 import BUCKET, CREDENTIALS, free_port


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Each test stores files in its own folder, so 'nothing left behind' can be checked."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def stored_files(isolated_media):
    """The relative paths of every file currently in media storage."""

    def listing() -> list[str]:
        return sorted(
            str(path.relative_to(isolated_media))
            for path in isolated_media.rglob("*")
            if path.is_file()
        )

    return listing


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def csrf_api_client():
    """An API client that enforces CSRF exactly as a browser session would."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def registered_contributor(db):
    return RegisteredContributorFactory()


@pytest.fixture
def token_client(registered_contributor):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(registered_contributor.user)}")
    client.contributor = registered_contributor
    return client


@pytest.fixture
def moderator(db):
    return ModeratorFactory()


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, settings):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "region_name": "us-east-1",
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


# Websocket tests: a channel layer of their own, and no worker connections left behind.
@pytest.fixture
def private_channel_layer(settings):
    """A fresh layer per test; on Redis a unique prefix, as other runs may share the server."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    config = layers["default"].get("CONFIG")
    if config is not None:
        config["prefix"] = f"test-{uuid.uuid4().hex}"
    settings.CHANNEL_LAYERS = layers


@pytest.fixture
async def close_worker_connections():
    """Close the connections the sync worker thread kept open (CONN_MAX_AGE on PostgreSQL).

    Left open, they stop the test database from being dropped at the end of the run.
    """
    yield
    await sync_to_async(connections.close_all)()
