"""The export page without JavaScript: build a query, see what it matches, download it or
start an archive and follow it to its download link."""

import re

import pytest

from datasets.models import ExportJob
from tests.factories import LabelFactory, submitted_annotation

from .conftest import RECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def outlined_dog():
    return submitted_annotation(label=LabelFactory(name="dog"), shapes=[RECT]).image_label.image


def test_a_first_visit_says_what_to_do(client):
    page = client.get("/datasets/export/").content.decode()

    assert "Write a query (or leave it empty for everything)" in page
    assert 'id="export-actions"' not in page


def test_a_query_shows_counts_samples_and_a_streamed_download(client, outlined_dog):
    page = client.get("/datasets/export/", {"query": "dog", "format": "jsonl"}).content.decode()

    assert re.search(
        r'data-count="images">1</strong> image and <strong data-count="image_labels">1', page
    )
    assert f"/images/{outlined_dog.pk}/file/small" in page
    link = re.search(r'id="export-download" href="([^"]+)"', page).group(1)
    assert link.startswith("/api/exports/?") and "query=dog" in link and "format=jsonl" in link


def test_an_archive_only_format_offers_only_the_archive(client, outlined_dog):
    page = client.get("/datasets/export/", {"query": "dog", "format": "voc"}).content.decode()

    assert 'id="export-download"' not in page
    assert 'id="export-archive"' in page


def test_a_bad_query_is_named_with_its_column_and_offers_no_download(client, outlined_dog):
    page = client.get("/datasets/export/", {"query": "dog & & cat"}).content.decode()

    assert "(column 7)" in page and "expected a label" in page
    assert 'id="export-actions"' not in page


def test_an_archive_started_from_the_page_ends_on_its_download_link(
    client, django_capture_on_commit_callbacks, outlined_dog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/datasets/export/", {"query": "dog", "format": "coco"})

    job = ExportJob.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/datasets/export/jobs/{job.pk}/"
    )
    page = client.get(response["Location"]).content.decode()
    assert "Ready: 1 image." in page
    link = re.search(r'id="export-job-download" href="([^"]+)"', page).group(1)
    assert client.get(link).status_code == 200
    # The page lists it next time.
    assert f"/datasets/export/jobs/{job.pk}/" in client.get("/datasets/export/").content.decode()


def test_a_refused_archive_says_why_on_the_page(client, outlined_dog):
    response = client.post("/datasets/export/", {"query": "dgo", "format": "coco"}, follow=True)

    assert "Unknown label &#x27;dgo&#x27;" in response.content.decode()
    assert ExportJob.objects.count() == 0


def test_nobody_opens_another_contributors_job_page(
    client, django_capture_on_commit_callbacks, outlined_dog
):
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/datasets/export/", {"format": "coco"})
    job = ExportJob.objects.get()

    assert Client().get(f"/datasets/export/jobs/{job.pk}/").status_code == 404
