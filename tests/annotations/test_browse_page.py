"""Browse mode filtered by the query language."""

import pytest

from labels_app.models import ImageLabelState
from tests.factories import AnnotationTaskFactory, ImageLabelFactory, LabelFactory

pytestmark = pytest.mark.django_db


def test_browse_mode_shows_only_tasks_on_images_matching_the_query(client):
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    alone = AnnotationTaskFactory(label=dog)
    with_cat = AnnotationTaskFactory(label=dog)
    ImageLabelFactory(image=with_cat.image, label=cat, state=ImageLabelState.CONFIRMED)

    html = client.get("/annotate/browse/", {"label": "dog", "q": "~cat"}).content.decode()
    everything = client.get("/annotate/browse/", {"label": "dog"}).content.decode()

    assert f"image={alone.image_id}" in html and f"image={with_cat.image_id}" not in html
    assert f"image={with_cat.image_id}" in everything
    assert 'value="~cat"' in html


def test_browse_mode_names_a_bad_filter_and_shows_nothing(client):
    task = AnnotationTaskFactory(label=LabelFactory(name="dog"))

    html = client.get("/annotate/browse/", {"label": "dog", "q": "dgo"}).content.decode()

    assert "Unknown label &#x27;dgo&#x27;; did you mean &#x27;dog&#x27;?" in html
    assert f"image={task.image_id}" not in html
    assert "Fix the filter above" in html
