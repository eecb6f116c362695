"""The S3 storage path against a real S3-compatible server (moto in server mode, on loopback)."""

import pytest
from django.db import IntegrityError

from donations.models import Image
from donations.services import image_donate
from tests import image_files
from tests.factories import ContributorFactory
from tests.s3 import BUCKET

pytestmark = pytest.mark.django_db


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
