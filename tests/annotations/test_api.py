import json

import pytest

from annotations.models import Annotation, Lease
from tests.factories import (
    AnnotationTaskFactory,
    ImageFactory,
    LabelFactory,
    RefinementFactory,
    UserFactory,
    VoterFactory,
    api_token_for,
)

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}


@pytest.fixture
def annotator(api_client):
    contributor = VoterFactory(user=UserFactory())
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(contributor.user)}")
    api_client.contributor = contributor
    return api_client


def take_task(client):
    response = client.post("/api/annotations/next/")
    assert response.status_code == 200, response.content
    return response.json()


def test_next_task_leases_and_describes_the_job(annotator):
    RefinementFactory(name="colour", values=["red", "blue"], applies_to=["animals"])
    RefinementFactory(name="material", values=["wood"], applies_to=["furniture"])
    task = AnnotationTaskFactory(label=LabelFactory(name="dog", group="animals"))

    body = take_task(annotator)

    assert body["image_label"] == task.pk
    assert body["label"]["name"] == "dog"
    assert body["refinements"] == [{"name": "colour", "values": ["red", "blue"]}]
    assert str(Lease.objects.get().pk) == body["lease"]["id"]


def test_next_task_is_204_when_nothing_waits(annotator):
    assert annotator.post("/api/annotations/next/").status_code == 204


def test_done_creates_the_annotation(annotator):
    AnnotationTaskFactory()
    task = take_task(annotator)

    response = annotator.post(
        "/api/annotations/", {"lease": task["lease"]["id"], "shapes": [RECT]}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["revision"] == 1
    assert response.json()["shapes"] == [RECT]


@pytest.mark.parametrize(
    ("shapes", "detail"),
    [
        ([{**RECT, "x": 2}], "shapes[0].x: 2 is outside 0–1"),
        ([{"type": "polygon", "points": [[0.1, 0.1], [0.2, 0.2]]}], "at least 3 points"),
        ([{"type": "hexagon"}], "'hexagon' is not one of rect, ellipse, polygon"),
        ([{**RECT, "extra": 1}], "unknown field(s) extra"),
    ],
)
def test_bad_shapes_get_a_400_naming_the_field_and_nothing_is_stored(annotator, shapes, detail):
    AnnotationTaskFactory()
    task = take_task(annotator)

    response = annotator.post(
        "/api/annotations/", {"lease": task["lease"]["id"], "shapes": shapes}, format="json"
    )

    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert Annotation.objects.count() == 0


def test_nan_and_infinity_in_json_are_refused(annotator):
    AnnotationTaskFactory()
    task = take_task(annotator)
    shape = '{"type": "rect", "x": NaN, "y": 0.1, "width": Infinity, "height": 0.2}'
    body = f'{{"lease": "{task["lease"]["id"]}", "shapes": [{shape}]}}'

    response = annotator.post("/api/annotations/", body, content_type="application/json")

    assert response.status_code == 400
    assert Annotation.objects.count() == 0


def test_a_100k_point_polygon_is_refused_naming_the_point_cap(annotator):
    AnnotationTaskFactory()
    task = take_task(annotator)
    points = [[0.1 + (i % 7) / 100, 0.1 + (i % 11) / 100] for i in range(100_000)]
    body = json.dumps(
        {"lease": task["lease"]["id"], "shapes": [{"type": "polygon", "points": points}]}
    )

    response = annotator.post("/api/annotations/", body, content_type="application/json")

    assert response.status_code == 400
    assert "at most 500 points per polygon, not 100000" in response.json()["detail"]
    assert Annotation.objects.count() == 0


def test_an_oversized_json_body_is_a_413(annotator, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    AnnotationTaskFactory()
    task = take_task(annotator)
    body = json.dumps({"lease": task["lease"]["id"], "shapes": [RECT] * 200})

    response = annotator.post("/api/annotations/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "code": "body_too_large",
        "detail": "The request body is larger than 9 KB.",
    }
    assert Annotation.objects.count() == 0


def test_rework_conflict_is_a_409_with_the_current_revision(annotator):
    AnnotationTaskFactory()
    task = take_task(annotator)
    created = annotator.post(
        "/api/annotations/", {"lease": task["lease"]["id"], "shapes": [RECT]}, format="json"
    ).json()
    url = f"/api/annotations/{created['id']}/"
    annotator.put(url, {"base_revision": 1, "shapes": [{**RECT, "width": 0.2}]}, format="json")

    response = annotator.put(
        url, {"base_revision": 1, "shapes": [{**RECT, "height": 0.2}]}, format="json"
    )
    detail = annotator.get(url).json()

    assert response.status_code == 409
    assert response.json()["code"] == "revision_conflict"
    assert response.json()["current_revision"] == 2
    assert [r["number"] for r in detail["revisions"]] == [2, 1]
    assert detail["shapes"] == [{**RECT, "width": 0.2}]


@pytest.mark.parametrize("kind", ["passed", "nothing_here", "not_annotatable"])
def test_release_kinds(annotator, kind):
    AnnotationTaskFactory()
    task = take_task(annotator)

    response = annotator.post(f"/api/annotations/leases/{task['lease']['id']}/{kind}/")

    assert response.status_code == 204
    assert Lease.objects.count() == 0


def test_someone_elses_lease_cannot_be_used(annotator, api_client):
    AnnotationTaskFactory()
    task = take_task(annotator)
    other = VoterFactory(user=UserFactory())
    from rest_framework.test import APIClient

    intruder = APIClient()
    intruder.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(other.user)}")

    response = intruder.post(
        "/api/annotations/", {"lease": task["lease"]["id"], "shapes": [RECT]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "This task is leased to someone else."


def test_browse_mode_refuses_a_label_the_image_does_not_have(annotator):
    task = AnnotationTaskFactory(label=LabelFactory(name="dog"))

    response = annotator.post(
        "/api/annotations/leases/", {"image": str(task.image_id), "label": "cat"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "label_not_on_image"


def test_pending_images_cannot_be_annotated(annotator):
    image = ImageFactory()
    AnnotationTaskFactory(image=image)

    response = annotator.post(
        "/api/annotations/leases/", {"image": str(image.pk), "label": "x"}, format="json"
    )

    assert response.status_code == 404  # a pending image is not even visible to others


def test_annotations_are_listed_per_image_and_label(annotator, api_client):
    dog = LabelFactory(name="dog")
    AnnotationTaskFactory(label=dog)
    task = take_task(annotator)
    annotator.post(
        "/api/annotations/", {"lease": task["lease"]["id"], "shapes": [RECT]}, format="json"
    )

    by_label = api_client.get("/api/annotations/", {"label": "dog"}).json()["results"]
    by_image = api_client.get("/api/annotations/", {"image": task["image"]["id"]}).json()["results"]
    bad = api_client.get("/api/annotations/", {"image": "nope"})

    assert [a["label"] for a in by_label] == ["dog"]
    assert len(by_image) == 1
    image = ImageFactory._meta.model.objects.get(pk=task["image"]["id"])
    assert (by_image[0]["image_width"], by_image[0]["image_height"]) == (image.width, image.height)
    assert bad.status_code == 400


def test_listing_annotations_costs_the_same_queries_for_one_or_many(
    annotator, api_client, django_assert_num_queries
):
    def annotate_one():
        AnnotationTaskFactory()
        task = take_task(annotator)
        annotator.post(
            "/api/annotations/", {"lease": task["lease"]["id"], "shapes": [RECT]}, format="json"
        )

    annotate_one()
    # The page of annotations with image and label joined, and the token with its user and
    # contributor.
    with django_assert_num_queries(2):
        assert len(api_client.get("/api/annotations/").json()["results"]) == 1
    for _ in range(4):
        annotate_one()

    with django_assert_num_queries(2):
        assert len(api_client.get("/api/annotations/").json()["results"]) == 5


def test_image_page_shows_annotations_with_toggles_and_revisions(annotator, client):
    task = AnnotationTaskFactory(label=LabelFactory(name="dog"))
    leased = take_task(annotator)
    annotator.post(
        "/api/annotations/", {"lease": leased["lease"]["id"], "shapes": [RECT]}, format="json"
    )

    html = client.get(task.image.get_absolute_url()).content.decode()

    assert '<rect x="0.1" y="0.1" width="0.5" height="0.5"' in html
    assert 'class="annotation-toggle"' in html
    assert "revision 1 · outline open for review" in html
    assert "js/image_annotations.js" in html


def test_next_task_needs_a_fixed_handful_of_queries(annotator, django_assert_max_num_queries):
    for _ in range(5):
        AnnotationTaskFactory()
    first = take_task(annotator)
    annotator.post(f"/api/annotations/leases/{first['lease']['id']}/passed/")

    # Token and contributor, the held-lease probe, the pick (twice when the random start lies
    # past the last key), the claim (expired-lease delete, insert, two savepoints each way),
    # refinements and the image's other labels; image and label come joined with the pick.
    with django_assert_max_num_queries(13):
        take_task(annotator)
