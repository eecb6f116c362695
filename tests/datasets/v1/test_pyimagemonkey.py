"""The original's own Python client (pyimagemonkey, from PyPI) against a live server: label list,
export with its probability filter and polygons, image download."""

import pytest
from pyimagemonkey.api import API

from donations.models import ImageStatus
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory, submitted_annotation

TRIANGLE = {"type": "polygon", "points": [[0.25, 0.25], [0.5, 0.25], [0.5, 0.5]]}


@pytest.fixture
def client(live_server, transactional_db):
    api = API(1)
    api._base_url = f"{live_server.url}/"  # the client has the original's host built in
    return api


def test_the_client_lists_the_catalogs_labels(client):
    LabelFactory(name="dog")
    LabelFactory(name="cat")
    assert sorted(client.labels()) == ["cat", "dog"]


def test_the_client_exports_labels_filtered_by_probability(client):
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    sure = ImageLabelFactory(label=dog, yes_count=9, no_count=1)
    ImageLabelFactory(label=cat, image=sure.image, yes_count=1, no_count=3)
    unsure = ImageLabelFactory(label=dog, yes_count=1, no_count=1)
    entries = {entry.image.uuid: entry for entry in client.export(["dog", "cat"], 0.8)}
    assert set(entries) == {str(sure.image_id), str(unsure.image_id)}
    kept = entries[str(sure.image_id)]
    assert [(v.label, v.num_yes, v.num_no) for v in kept.validations] == [("dog", 9, 1)]
    assert (kept.image.width, kept.image.height) == (160, 120)
    assert entries[str(unsure.image_id)].validations == []


def test_the_client_reads_exported_polygons_in_pixels(client):
    annotation = submitted_annotation(label=LabelFactory(name="dog"), shapes=[TRIANGLE])
    (entry,) = client.export(["dog"], 0)
    (outline,) = entry.annotations
    assert entry.image.uuid == str(annotation.image_label.image_id)
    assert outline.label == "dog"
    assert [
        (p.x, p.y) for p in outline._data.points
    ]  # the client keeps it private == [(40, 30), (80, 30), (80, 60)]


def test_the_client_downloads_the_stored_image(client, tmp_path):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    client.download_image(str(image.pk), str(tmp_path))
    assert (tmp_path / f"{image.pk}.jpg").read_bytes() == image.file.open("rb").read()
