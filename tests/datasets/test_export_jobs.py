"""Archive exports: built in the background with the stored image bytes, reused for the same
data, downloaded through expiring links, limited per person, and cleaned up."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from datasets.models import ExportJob
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    submitted_annotation,
)

from .conftest import RECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def outlined():
    dog = LabelFactory(name="dog")
    annotation = submitted_annotation(label=dog, shapes=[RECT])
    return annotation.image_label.image


def start(api_client, capture, **params):
    with capture(execute=True):
        response = api_client.post("/api/exports/jobs/", params, format="json")
    return response


def finished(api_client, capture, **params) -> dict:
    """Start a job, let its build run, and read it back."""
    response = start(api_client, capture, **params)
    assert response.status_code in (200, 202), response.content[:300]
    return api_client.get(f"/api/exports/jobs/{response.json()['id']}/").json()


def download(api_client, job: dict) -> zipfile.ZipFile:
    response = api_client.get(job["download_url"])
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_a_coco_archive_is_built_in_the_background_with_the_stored_image_bytes(
    api_client, django_capture_on_commit_callbacks, outlined, tmp_path
):
    from pycocotools.coco import COCO

    response = start(api_client, django_capture_on_commit_callbacks, format="coco", query="dog")

    assert response.status_code == 202
    job = api_client.get(f"/api/exports/jobs/{response.json()['id']}/").json()
    assert (job["state"], job["rows_done"], job["rows_total"], job["percent"]) == (
        "done",
        1,
        1,
        100.0,
    )
    archive = download(api_client, job)
    stored = Image.objects.get(pk=outlined.pk).file
    with stored.open("rb") as original:
        assert archive.read(f"images/{outlined.pk}.jpg") == original.read()
    assert archive.getinfo(f"images/{outlined.pk}.jpg").compress_type == zipfile.ZIP_STORED
    assert "CC0" in archive.read("README.txt").decode()
    archive.extract("annotations/instances.json", tmp_path)
    coco = COCO(str(tmp_path / "annotations" / "instances.json"))
    (annotation,) = coco.loadAnns(coco.getAnnIds())
    assert annotation["bbox"] == pytest.approx([16, 24, 80, 30])
    assert coco.loadImgs(annotation["image_id"])[0]["file_name"] == f"{outlined.pk}.jpg"


def test_json_with_images_comes_as_an_archive_too(
    api_client, django_capture_on_commit_callbacks, outlined
):
    job = finished(
        api_client, django_capture_on_commit_callbacks, format="jsonl", include_images=True
    )

    archive = download(api_client, job)
    (line,) = archive.read("export.jsonl").decode().splitlines()
    assert json.loads(line)["id"] == str(outlined.pk)
    assert f"images/{outlined.pk}.jpg" in archive.namelist()


def test_the_same_export_of_the_same_data_is_handed_back_without_rebuilding(
    api_client, django_capture_on_commit_callbacks, outlined
):
    first = start(api_client, django_capture_on_commit_callbacks, format="coco").json()
    again = start(api_client, django_capture_on_commit_callbacks, format="coco")

    assert again.status_code == 200 and again.json()["state"] == "done"
    jobs = ExportJob.objects.order_by("created_at")
    assert jobs[0].archive == jobs[1].archive
    assert again.json()["id"] != first["id"]
    # New data (a vote) is a new data version: built afresh.
    from validations.models import Vote

    Vote.objects.create(
        image_label=outlined.image_labels.first(), contributor=ContributorFactory(), answer="yes"
    )
    fresh = start(api_client, django_capture_on_commit_callbacks, format="coco")
    assert fresh.status_code == 202
    assert ExportJob.objects.get(pk=fresh.json()["id"]).archive != jobs[0].archive


def test_nobody_sees_another_contributors_job(
    api_client, django_capture_on_commit_callbacks, outlined
):
    from rest_framework.test import APIClient

    job = start(api_client, django_capture_on_commit_callbacks, format="coco").json()

    response = APIClient().get(f"/api/exports/jobs/{job['id']}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_download_links_expire_and_forged_ones_are_unknown(
    api_client, django_capture_on_commit_callbacks, outlined, settings
):
    job = finished(api_client, django_capture_on_commit_callbacks, format="coco")
    link = job["download_url"]

    forged = api_client.get(link.replace(job["id"][:8], "00000000"))
    settings.EXPORT_LINK_SECONDS = -1
    expired = api_client.get(link)

    assert (forged.status_code, forged.json()["code"]) == (404, "not_found")
    assert (expired.status_code, expired.json()["code"]) == (410, "link_expired")


def test_at_most_export_max_running_jobs_per_person(api_client, outlined, settings):
    settings.EXPORT_MAX_RUNNING = 2
    # Without running the on-commit build, jobs stay queued.
    statuses = [
        api_client.post("/api/exports/jobs/", {"format": "voc"}, format="json").status_code
        for _ in range(3)
    ]

    assert statuses[:2] == [202, 202]
    third = api_client.post("/api/exports/jobs/", {"format": "voc"}, format="json")
    assert (third.status_code, third.json()["code"]) == (429, "too_many_exports")
    assert ExportJob.objects.count() == 2


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"format": "voc"}, "archive_export"),
        ({"format": "yolo"}, "archive_export"),
        ({"format": "json", "include_images": "true"}, "archive_export"),
    ],
)
def test_archives_are_not_streamed(api_client, params, code):
    response = api_client.get("/api/exports/", params)

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert "/api/exports/jobs/" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"format": "tiff"}, "invalid_format"),
        ({"format": "coco", "query": "dog & &"}, "invalid_query"),
        ({"format": "coco", "min_probability": 2}, "invalid_min_probability"),
        ({"format": "coco", "query": ["dog"]}, "invalid_query"),
        (["coco"], "invalid"),
    ],
)
def test_bad_archive_requests_store_nothing(api_client, body, code):
    LabelFactory(name="dog")

    response = api_client.post("/api/exports/jobs/", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert ExportJob.objects.count() == 0


def test_an_image_hidden_before_its_file_is_copied_is_left_out(tmp_path):
    from datasets import archives
    from datasets.services import ExportRequest, export_header, export_pages, export_select

    label = LabelFactory(name="dog")
    images = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(2)]
    for image in images:
        ImageLabelFactory(image=image, label=label, state=ImageLabelState.CONFIRMED, probability=1)
    selection = export_select(ExportRequest(format="jsonl", include_images=True))
    pages = list(export_pages(selection, base_url="http://testserver"))
    Image.objects.filter(pk=images[1].pk).update(status=ImageStatus.HIDDEN)

    path = tmp_path / "a.zip"
    with open(path, "wb") as output:
        kept = archives.archive_write(
            export_format="jsonl",
            header=export_header(selection),
            pages=pages,
            categories=[],
            output=output,
            progress=lambda done: None,
        )

    archive = zipfile.ZipFile(path)
    assert kept == 1
    assert [n for n in archive.namelist() if n.startswith("images/")] == [
        f"images/{images[0].pk}.jpg"
    ]
    assert str(images[1].pk) not in archive.read("export.jsonl").decode()


def test_old_archives_are_removed_and_their_links_say_so(
    api_client, django_capture_on_commit_callbacks, outlined, settings
):
    from django.core.files.storage import default_storage

    from datasets.services import exports_clean_up

    job = finished(api_client, django_capture_on_commit_callbacks, format="coco")
    name = ExportJob.objects.get(pk=job["id"]).archive

    removed = exports_clean_up(
        now=timezone.now() + timedelta(seconds=settings.EXPORT_KEEP_SECONDS + 60)
    )

    assert removed == 1 and not default_storage.exists(name)
    gone = api_client.get(job["download_url"])
    assert (gone.status_code, gone.json()["code"]) == (410, "archive_gone")


def test_the_clean_up_command_says_what_it_removed():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("exports_clean_up", stdout=out)

    assert out.getvalue().strip() == "Removed 0 old export archives."


def test_an_archive_is_built_into_s3_storage_and_downloaded_from_it(
    s3_bucket, api_client, django_capture_on_commit_callbacks
):
    from tests.s3 import BUCKET

    image = submitted_annotation(label=LabelFactory(name="dog"), shapes=[RECT]).image_label.image

    job = finished(api_client, django_capture_on_commit_callbacks, format="coco")

    archive_key = ExportJob.objects.get(pk=job["id"]).archive
    assert archive_key.startswith("exports/")
    assert s3_bucket.head_object(Bucket=BUCKET, Key=archive_key)["ContentLength"] > 0
    stored = s3_bucket.get_object(Bucket=BUCKET, Key=image.file.name)["Body"].read()
    assert download(api_client, job).read(f"images/{image.pk}.jpg") == stored


@pytest.mark.parametrize(
    ("export_format", "image_path", "format_files"),
    [
        ("voc", "JPEGImages/{id}.jpg", ["Annotations/{id}.xml"]),
        ("yolo", "images/{id}.jpg", ["labels/{id}.txt", "data.yaml"]),
        ("yolo_seg", "images/{id}.jpg", ["labels/{id}.txt", "data.yaml"]),
        ("imagefolder", "train/dog/{id}.jpg", []),
        ("parquet", "images/{id}.jpg", ["images.parquet", "labels.parquet", "shapes.parquet"]),
    ],
)
def test_each_archive_format_lays_out_its_files(
    api_client,
    django_capture_on_commit_callbacks,
    outlined,
    export_format,
    image_path,
    format_files,
):
    job = finished(api_client, django_capture_on_commit_callbacks, format=export_format)

    names = download(api_client, job).namelist()
    expected = [path.format(id=outlined.pk) for path in (image_path, *format_files)]
    assert set(expected) <= set(names)
    assert "README.txt" in names


def test_a_large_archive_counts_more_against_the_limit_than_a_small_one(
    api_client, settings, monkeypatch
):
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 2**31)
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "export_archive": {"hour": [3, 3, 3, None], "day": [100, 100, 100, None]},
    }
    settings.EXPORT_COST_IMAGES = 1
    dog = LabelFactory(name="dog")
    for _ in range(3):
        ImageLabelFactory(
            image=ImageFactory(status=ImageStatus.UNLOCKED),
            label=dog,
            state=ImageLabelState.CONFIRMED,
            probability=1,
        )

    small = api_client.post(
        "/api/exports/jobs/", {"format": "voc", "query": "image.width > 5000px"}, format="json"
    )
    large = api_client.post("/api/exports/jobs/", {"format": "voc"}, format="json")

    # An empty selection costs 1 of the 3 an hour; three images cost 1 + 3 = 4 more (at one
    # unit an archive the second would pass).
    assert small.status_code == 202
    assert (large.status_code, large.json()["code"]) == (429, "rate_limited")
