"""The S3 storage path against a real S3-compatible server (moto in server mode, on loopback)."""

import socket

import boto3
import pytest
from django.db import IntegrityError
from moto.server import ThreadedMotoServer

from donations.models import Image
from donations.services import image_donate
from tests import image_files
from tests.factories import ContributorFactory

pytestmark = pytest.mark.django_db

BUCKET = "imagemonkey-test"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def bucket_keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_donation_is_written_to_the_bucket_and_served_through_the_permission_check(
    s3_bucket, client, isolated_media
):
    image = image_donate(
        donor=ContributorFactory(), data=image_files.jpeg_with_gps(), cc0_confirmed=True
    ).image
    image.status = "unlocked"
    image.save(update_fields=["status"])

    keys = bucket_keys(s3_bucket)
    stored = s3_bucket.get_object(Bucket=BUCKET, Key=image.file.name)["Body"].read()
    response = client.get(image.file_url("full"))

    assert keys == sorted(image.stored_files())
    assert b"TestCam" not in stored
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored
    assert list(isolated_media.iterdir()) == []


def test_a_failed_insert_removes_the_objects_already_uploaded(s3_bucket, monkeypatch):
    def fail(**kwargs):
        raise IntegrityError("simulated failure after the upload")

    monkeypatch.setattr(Image.objects, "create", fail)

    with pytest.raises(IntegrityError):
        image_donate(donor=ContributorFactory(), data=image_files.jpeg(seed=71), cc0_confirmed=True)

    assert bucket_keys(s3_bucket) == []
