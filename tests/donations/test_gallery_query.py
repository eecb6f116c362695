"""The gallery filtered by the query language, with the query kept in the URL."""

import pytest

from donations.models import ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory

pytestmark = pytest.mark.django_db


def labelled(label, state=ImageLabelState.OPEN):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(image=image, label=label, state=state)
    return image


def test_a_gallery_search_shows_only_matching_images_even_still_open_labels(client):
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    open_dog = labelled(dog)
    confirmed_dog = labelled(dog, ImageLabelState.CONFIRMED)
    a_cat = labelled(cat, ImageLabelState.CONFIRMED)
    rejected_dog = labelled(dog, ImageLabelState.REJECTED)

    page = client.get("/images/", {"q": "dog & ~cat"}).content.decode()

    assert str(open_dog.pk) in page and str(confirmed_dog.pk) in page
    assert str(a_cat.pk) not in page and str(rejected_dog.pk) not in page
    assert 'value="dog &amp; ~cat"' in page


def test_a_bad_search_says_what_and_where_escaped_and_shows_no_images(client):
    LabelFactory(name="dog")
    labelled(LabelFactory(name="cat"))

    response = client.get("/images/", {"q": "dog & <b>"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "expected a label" in page and "(column 7)" in page
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert 'class="image-tile"' not in page


def test_an_empty_search_result_says_what_to_try(client):
    LabelFactory(name="dog")

    page = client.get("/images/", {"q": "dog"}).content.decode()

    assert "No public image matches this search" in page


def test_the_pager_keeps_the_query(client, monkeypatch):
    from donations import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    dog = LabelFactory(name="dog")
    labelled(dog), labelled(dog)

    page = client.get("/images/", {"q": "dog"}).content.decode()

    assert "&amp;q=dog" in page
