"""/v1 annotation routes (reference §4.7, §5, §11): the original's requests and answers, on the
site's rules — leases, tasks handed out, hidden annotations, rate limits."""

import json
import math

import pytest
from rest_framework.test import APIClient

from annotations.models import (
    Annotation,
    AnnotationRevision,
    AnnotationTaskMark,
    AnnotationVote,
    Lease,
    ShapeRefinement,
)
from annotations.services import annotation_hide, annotation_task_lease_for
from contributors.models import Contributor
from datasets.v1.wire import wire_id
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabel, LabelKind
from tests.factories import (
    AnnotationTaskFactory,
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
    UserFactory,
    api_token_for,
    submitted_annotation,
)

pytestmark = pytest.mark.django_db

# tests/api_test.go `testAnnotate`: posted, then read back JSON-equal.
GO_RECT = {
    "top": 100,
    "left": 200,
    "type": "rect",
    "angle": 0,
    "width": 40,
    "height": 60,
    "stroke": {"color": "red", "width": 1},
}
INVALID = {"error": "invalid request - annotations invalid"}
MISSING_RESULT = {"error": "Couldn't process request - missing result set"}


def client_named(agent: str, *, user=None) -> APIClient:
    """A cookie-less /v1 client: one identity per network and User-Agent, or a token's user."""
    client = APIClient(HTTP_USER_AGENT=agent)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(user)}")
    return client


@pytest.fixture
def client():
    return client_named("pyimagemonkey")


@pytest.fixture
def apple_task():
    """A confirmed apple on an image the size of the original's fixture (1132×750)."""
    task = AnnotationTaskFactory(label=LabelFactory(name="apple"))
    Image.objects.filter(pk=task.image_id).update(width=1132, height=750)
    task.image.refresh_from_db()
    return task


def annotate(client, image_id, entries, **extra):
    return client.post(
        f"/v1/donation/{image_id}/annotate",
        data=json.dumps(entries),
        content_type="application/json",
        **extra,
    )


def read(client, url: str):
    return client.get(url.removeprefix("http://testserver"))


# ---------------------------------------------------------------------------- POST annotate


def test_the_go_tests_rect_is_created_and_read_back_json_equal(client, apple_task):
    response = annotate(
        client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple", "sublabel": ""}]
    )

    assert response.status_code == 201
    assert response.content == b"null"
    annotation = Annotation.objects.get()
    location = (
        f"http://testserver/v1/annotation?annotation_id={wire_id('annotation', annotation.pk)}"
    )
    assert response["Location"] == location
    body = read(client, location).json()
    assert body["annotations"] == [GO_RECT]
    assert body["uuid"] == wire_id("annotation", annotation.pk)
    assert body["validation"] == {"label": "apple", "sublabel": "", "unlocked": True}
    assert body["image"] == {
        "uuid": str(apple_task.image_id),
        "unlocked": True,
        "url": f"http://testserver/v1/donation/{apple_task.image_id}",
        "provider": "donation",
        "width": 1132,
        "height": 750,
    }
    assert (body["num_yes"], body["num_no"], body["num_revisions"], body["revision"]) == (
        0,
        0,
        1,
        -1,
    )
    # The site's geometry, normalised, beside the shape as sent.
    assert annotation.shapes[0]["x"] == pytest.approx(200 / 1132)
    assert annotation.shapes[0]["original"] == GO_RECT


@pytest.mark.parametrize(
    "shape",
    [
        {"type": "ellipse", "left": 100, "top": 50, "rx": 30, "ry": 20, "angle": 0},
        {
            "type": "polygon",
            "points": [{"x": 10, "y": 10}, {"x": 300, "y": 12.5}, {"x": 40, "y": 200}],
        },
        {"type": "rect", "left": 400, "top": 300, "width": 120, "height": 40, "angle": 30},
        {"type": "ellipse", "left": 500, "top": 200, "rx": 80, "ry": 20, "angle": 135.5},
        {"type": "rect", "left": 1100, "top": 700, "width": 100, "height": 100},
    ],
)
def test_ellipses_polygons_rotated_and_overhanging_shapes_come_back_as_sent(
    client, apple_task, shape
):
    annotate(client, apple_task.image_id, [{"annotations": [shape], "label": "apple"}])

    annotation = Annotation.objects.get()
    body = client.get(f"/v1/annotation?annotation_id={wire_id('annotation', annotation.pk)}").json()
    assert body["annotations"] == [shape]
    stored = annotation.shapes[0]
    if shape.get("angle") not in (None, 0):
        # Turned: the outline's polygon, cut to the image, for exports and coverage.
        assert stored["type"] == "polygon"
        assert all(0 <= c <= 1 for point in stored["points"] for c in point)
    if shape.get("left") == 1100:
        # Reaching outside: cut to the image.
        assert stored["x"] + stored["width"] == pytest.approx(1.0)


def test_refinements_by_label_uuid_are_stored_as_the_sites_and_echoed(client, apple_task):
    RefinementFactory(name="colour", values=["red", "green"])
    refinements = client.get("/v1/label/refinements").json()
    red = refinements["colour"]["values"]["red"]["uuid"]
    shape = {**GO_RECT, "refinements": [{"label_uuid": red}]}

    annotate(client, apple_task.image_id, [{"annotations": [shape], "label": "apple"}])

    annotation = Annotation.objects.get()
    assert annotation.shapes[0]["refinements"] == {"colour": "red"}
    assert ShapeRefinement.objects.get().value == "red"
    body = client.get(f"/v1/annotation?annotation_id={wire_id('annotation', annotation.pk)}").json()
    assert body["annotations"] == [shape]


def test_an_unknown_refinement_is_a_422_naming_it_and_nothing_is_stored(client, apple_task):
    shape = {**GO_RECT, "refinements": [{"label_uuid": "not-a-uuid"}]}

    response = annotate(client, apple_task.image_id, [{"annotations": [shape], "label": "apple"}])

    assert response.status_code == 422
    assert response.json()["error"].startswith(INVALID["error"] + ": shape 0: refinements[0]")
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(
    "shapes",
    [
        [],
        [{**GO_RECT, "fill": "blue"}],
        [{**GO_RECT, "stroke": {"color": "red", "width": 1, "dash": 2}}],
        [{**GO_RECT, "refinements": [{"label_uuid": "x", "invalid-key": 1}]}],
        [{"type": "circle", "left": 1}],
        [{**GO_RECT, "width": "40"}],
    ],
)
def test_invalid_shapes_are_the_originals_422_and_nothing_is_stored(client, apple_task, shapes):
    response = annotate(client, apple_task.image_id, [{"annotations": shapes, "label": "apple"}])

    assert response.status_code == 422
    assert response.json() == INVALID
    assert not Annotation.objects.exists()
    assert not Lease.objects.exists()


@pytest.mark.parametrize("body", [b"[{", b"", b'{"annotations": []}', b'[{"label": 5}]'])
def test_a_malformed_body_is_a_400_as_gin_answers_it(client, apple_task, body):
    response = client.post(
        f"/v1/donation/{apple_task.image_id}/annotate", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid request - annotations missing"}
    assert not Annotation.objects.exists()


def test_the_sites_stricter_rules_are_a_422_with_the_reason(client, apple_task):
    outside = {"type": "rect", "left": 5000, "top": 10, "width": 5, "height": 5}

    response = annotate(client, apple_task.image_id, [{"annotations": [outside], "label": "apple"}])

    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid request - annotations invalid: shape 0: the rectangle lies outside "
        "the image or has no area"
    }
    assert not Annotation.objects.exists()


def test_metalabels_cannot_be_annotated(client, apple_task):
    LabelFactory(name="kitchen", kind=LabelKind.SCENE)

    response = annotate(
        client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "kitchen"}]
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "Couldn't add annotations - it's not possible to annotate metalabels"
    }


def test_a_label_outside_the_catalog_needs_authentication_and_is_then_refused(client, apple_task):
    entry = [{"annotations": [GO_RECT], "label": "unicorn", "sublabel": ""}]

    anonymous = annotate(client, apple_task.image_id, entry)
    signed_in = annotate(client_named("app", user=UserFactory()), apple_task.image_id, entry)

    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "error": "Couldn't add annotations - you need to be authenticated to perform this action"
    }
    assert signed_in.status_code == 422
    assert "'unicorn' is not a label of the catalog" in signed_in.json()["error"]
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("image_id", ["not-a-uuid", "3f1e4a52-8a0b-4c1d-9f1e-2b3c4d5e6f70"])
def test_an_unknown_image_is_a_404_not_the_originals_500(client, image_id):
    response = annotate(client, image_id, [{"annotations": [GO_RECT], "label": "apple"}])

    assert response.status_code == 404
    assert response.json() == {"error": "Couldn't add annotations - no image with that id"}


def test_a_pending_image_is_not_shown_to_others_and_cannot_be_annotated(client):
    image = ImageFactory(status=ImageStatus.PENDING)
    ImageLabelFactory(image=image, label=LabelFactory(name="apple"))

    response = annotate(client, image.pk, [{"annotations": [GO_RECT], "label": "apple"}])

    assert response.status_code == 404


def test_a_sublabel_outlines_the_part_label_of_the_image(client, apple_task):
    stem = LabelFactory(name="stem")
    apple_task.label.parts.add(stem)
    part_task = AnnotationTaskFactory(image=apple_task.image, label=stem)

    response = annotate(
        client,
        apple_task.image_id,
        [{"annotations": [GO_RECT], "label": "apple", "sublabel": "stem"}],
    )

    assert response.status_code == 201
    assert Annotation.objects.get().image_label == part_task


def test_annotating_again_is_a_new_revision_of_that_image_only_with_an_empty_200(
    client, apple_task
):
    other = AnnotationTaskFactory(label=apple_task.label)  # 160×120
    small = {"type": "rect", "left": 10, "top": 10, "width": 20, "height": 20}
    annotate(client, other.image_id, [{"annotations": [small], "label": "apple"}])
    annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])
    moved = {**GO_RECT, "left": 300}

    response = annotate(client, apple_task.image_id, [{"annotations": [moved], "label": "apple"}])

    assert response.status_code == 200
    assert response.content == b""
    mine = Annotation.objects.get(image_label=apple_task)
    assert mine.revision == 2
    assert mine.shapes[0]["original"] == moved
    # Quirk §11.16 not reproduced: the other image's apple is untouched.
    assert Annotation.objects.get(image_label=other).revision == 1


def test_several_entries_are_stored_together_with_an_empty_200(client, apple_task):
    AnnotationTaskFactory(image=apple_task.image, label=LabelFactory(name="pear"))

    response = annotate(
        client,
        apple_task.image_id,
        [
            {"annotations": [GO_RECT], "label": "apple", "sublabel": ""},
            {"annotations": [{**GO_RECT, "left": 600}], "label": "pear", "sublabel": ""},
        ],
    )

    assert response.status_code == 200
    assert response.content == b""
    assert Annotation.objects.count() == 2


def test_one_failing_entry_stores_none_of_them(client, apple_task):
    response = annotate(
        client,
        apple_task.image_id,
        [
            {"annotations": [GO_RECT], "label": "apple"},
            {"annotations": [GO_RECT], "label": "apple", "sublabel": "worm"},
            {"annotations": [GO_RECT], "label": "pear"},
        ],
    )

    assert response.status_code == 401
    assert not Annotation.objects.exists()


def test_a_task_leased_to_someone_else_cannot_be_annotated(client, apple_task):
    annotation_task_lease_for(
        contributor=ContributorFactory(), image=apple_task.image, label_name="apple"
    )

    response = annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])

    assert response.status_code == 409
    assert "Someone else is annotating this" in response.json()["error"]
    assert not Annotation.objects.exists()


def test_annotations_are_rate_limited(client, apple_task, settings):
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "annotation": {"minute": [1, 1, 1, None]}}
    annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])

    response = annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert Annotation.objects.get().revision == 1


# ---------------------------------------------------------------------------- GET annotate


def test_a_random_task_is_leased_and_described(client, apple_task):
    response = client.get("/v1/annotate")

    assert response.status_code == 200
    assert response.json() == {
        "uuid": str(apple_task.image_id),
        "unlocked": True,
        "url": f"http://testserver/v1/donation/{apple_task.image_id}",
        "provider": "donation",
        "width": 1132,
        "height": 750,
        "validation": {"uuid": wire_id("validation", apple_task.pk)},
        "label": {"label": "apple", "sublabel": "", "accessor": "apple"},
    }
    assert Lease.objects.get().image_label == apple_task


def test_a_task_leased_to_one_client_is_not_handed_to_another(client, apple_task):
    assert client.get("/v1/annotate").status_code == 200

    response = client_named("another app").get("/v1/annotate")

    assert response.status_code == 422
    assert response.json() == MISSING_RESULT
    assert client.get("/v1/annotate").json()["validation"]["uuid"] == wire_id(
        "validation", apple_task.pk
    )


def test_a_task_by_validation_id_or_label_id(client, apple_task):
    pear = AnnotationTaskFactory(label=LabelFactory(name="pear"))

    by_id = client.get(f"/v1/annotate?validation_id={wire_id('validation', pear.pk)}")
    by_label = client_named("other").get(
        f"/v1/annotate?label_id={wire_id('label', apple_task.label_id)}"
    )

    assert by_id.json()["label"]["label"] == "pear"
    assert by_label.json()["label"]["label"] == "apple"


def test_no_task_is_the_originals_422(client):
    ImageLabelFactory(label=LabelFactory(name="apple"))  # open, not confirmed: no task yet

    assert client.get("/v1/annotate").json() == MISSING_RESULT
    assert client.get("/v1/annotate?validation_id=nope").status_code == 422
    assert client.get("/v1/annotate?label_id=nope").status_code == 422


def test_taking_tasks_is_rate_limited(client, apple_task, settings):
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "task": {"minute": [1, 1, 1, None]}}
    client.get("/v1/annotate")

    assert client.get("/v1/annotate").status_code == 429


# ---------------------------------------------------------------------------- reading


@pytest.fixture
def drawn():
    """An apple outlined on the site (normalised shapes, no original) on a 160×120 image."""
    return submitted_annotation(
        label=LabelFactory(name="apple"),
        shapes=[
            {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.5, "height": 0.25},
            {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.25, "ry": 0.25},
            {"type": "polygon", "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4]]},
        ],
    )


def test_shapes_drawn_on_the_site_are_read_in_pixels(client, drawn):
    body = client.get(f"/v1/annotation?annotation_id={wire_id('annotation', drawn.pk)}").json()

    assert body["annotations"] == [
        {"type": "rect", "left": 16, "top": 24, "width": 80, "height": 30, "angle": 0},
        {"type": "ellipse", "left": 40, "top": 30, "rx": 40, "ry": 30, "angle": 0},
        {
            "type": "polygon",
            "points": [{"x": 16, "y": 12}, {"x": 64, "y": 12}, {"x": 64, "y": 48}],
            "angle": 0,
        },
    ]


def test_an_image_lists_its_annotations(client, drawn):
    image_id = drawn.image_label.image_id

    response = client.get(f"/v1/donation/{image_id}/annotations")

    assert response.status_code == 200
    [entry] = response.json()
    assert entry["uuid"] == wire_id("annotation", drawn.pk)
    assert len(entry["annotations"]) == 3


def test_an_image_without_annotations_lists_none_and_a_bad_id_is_a_422(client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    pending = ImageFactory(status=ImageStatus.PENDING)
    invalid = {"error": "Couldn't process request - please provide a valid image id"}

    assert client.get(f"/v1/donation/{image.pk}/annotations").json() == []
    for image_id in ("nope", pending.pk, "3f1e4a52-8a0b-4c1d-9f1e-2b3c4d5e6f70"):
        response = client.get(f"/v1/donation/{image_id}/annotations")
        assert (response.status_code, response.json()) == (422, invalid)


def test_hidden_annotations_are_never_shown(client, drawn):
    annotation_hide(annotation_id=drawn.pk)
    url = f"/v1/annotation?annotation_id={wire_id('annotation', drawn.pk)}"

    assert client.get(url).json() == MISSING_RESULT
    assert client.get("/v1/annotation").json() == MISSING_RESULT
    assert client.get(f"/v1/donation/{drawn.image_label.image_id}/annotations").json() == []
    vote = client.post(
        f"/v1/annotation/{wire_id('annotation', drawn.pk)}/validate/yes",
        data={"label": "apple"},
        format="json",
    )
    assert vote.status_code == 404
    put = client.put(
        f"/v1/annotation/{wire_id('annotation', drawn.pk)}",
        data={"annotations": [{"type": "rect", "left": 1, "top": 1, "width": 5, "height": 5}]},
        format="json",
    )
    assert put.status_code == 404
    assert Annotation.objects.get().revision == 1


def test_an_old_revision_by_rev_and_bad_revs_are_422(client, drawn):
    url = f"/v1/annotation?annotation_id={wire_id('annotation', drawn.pk)}"
    client.put(
        url.replace("annotation?annotation_id=", "annotation/"),
        data={"annotations": [GO_RECT | {"left": 10, "top": 10}], "label": "apple"},
        format="json",
    )

    first = client.get(url + "&rev=1").json()
    current = client.get(url).json()

    assert (first["revision"], first["num_revisions"]) == (1, 2)
    assert first["annotations"][0]["left"] == 16
    assert current["annotations"] == [GO_RECT | {"left": 10, "top": 10}]
    assert client.get(url + "&rev=7").json() == MISSING_RESULT
    bad = client.get(url + "&rev=abc")
    assert (bad.status_code, bad.json()) == (
        422,
        {"error": "Invalid request - please provide a valid revision"},
    )


def test_auto_generated_annotations_do_not_exist_here(client, drawn):
    assert client.get("/v1/annotation?auto_generated=true").json() == MISSING_RESULT


# ---------------------------------------------------------------------------- PUT annotation


def test_put_replaces_the_shapes_as_a_new_revision(client, drawn):
    response = client.put(
        f"/v1/annotation/{wire_id('annotation', drawn.pk)}",
        data={
            "annotations": [{**GO_RECT, "left": 20, "top": 20}],
            "label": "apple",
            "sublabel": "",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.content == b"null"
    drawn.refresh_from_db()
    assert drawn.revision == 2
    assert AnnotationRevision.objects.filter(annotation=drawn).count() == 2


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{", 400, "invalid request - annotations missing"),
        (b"[]", 400, "invalid request - annotations missing"),
        (b'{"annotations": {}}', 400, "invalid request - annotations missing"),
        (b'{"annotations": []}', 422, "invalid request - annotations invalid"),
        (
            b'{"annotations": [{"type": "rect", "id": 1}]}',
            422,
            "invalid request - annotations invalid",
        ),
    ],
)
def test_put_refuses_bad_bodies_and_stores_nothing(client, drawn, body, status, error):
    response = client.put(
        f"/v1/annotation/{wire_id('annotation', drawn.pk)}",
        data=body,
        content_type="application/json",
    )

    assert (response.status_code, response.json()) == (status, {"error": error})
    drawn.refresh_from_db()
    assert drawn.revision == 1


def test_put_on_an_unknown_annotation_is_a_404_not_the_originals_500(client):
    response = client.put(
        f"/v1/annotation/{wire_id('annotation', 999)}",
        data={"annotations": [GO_RECT]},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Couldn't update annotation - no annotation with that id"}


# ---------------------------------------------------------------------------- reviews


def vote(client, annotation, answer="yes", body=None):
    return client.post(
        f"/v1/annotation/{wire_id('annotation', annotation.pk)}/validate/{answer}",
        data=json.dumps({"label": "apple", "sublabel": ""} if body is None else body),
        content_type="application/json",
    )


def test_a_vote_on_an_annotation_handed_out_is_taken(client, drawn):
    served = client.get("/v1/annotation").json()
    assert served["uuid"] == wire_id("annotation", drawn.pk)

    response = vote(client, drawn, "no")

    assert (response.status_code, response.content) == (200, b"null")
    review = AnnotationVote.objects.get()
    assert review.answer == "bad"
    drawn.refresh_from_db()
    assert drawn.bad_count == 1


def test_a_vote_on_an_annotation_not_handed_out_is_refused(client, drawn):
    client.get(f"/v1/annotation?annotation_id={wire_id('annotation', drawn.pk)}")  # only shown

    response = vote(client, drawn)

    assert response.status_code == 409
    assert "not handed to you" in response.json()["error"]
    assert not AnnotationVote.objects.exists()


def test_a_vote_naming_another_label_counts_nothing_as_in_the_original(client, drawn):
    client.get("/v1/annotation")

    response = vote(client, drawn, body={"label": "pear", "sublabel": ""})

    assert (response.status_code, response.content) == (200, b"null")
    assert not AnnotationVote.objects.exists()


@pytest.mark.parametrize(
    ("answer", "body", "status", "payload"),
    [
        ("maybe", {"label": "apple"}, 404, None),
        ("yes", "{", 400, {"error": "Couldn't process request - please provide valid label(s)"}),
        (
            "yes",
            {"label": 3},
            400,
            {"error": "Couldn't process request - please provide valid label(s)"},
        ),
        ("yes", {"label": "", "sublabel": ""}, 400, {"error": "Please provide a valid label"}),
    ],
)
def test_bad_votes_get_the_originals_answers(client, drawn, answer, body, status, payload):
    client.get("/v1/annotation")
    response = client.post(
        f"/v1/annotation/{wire_id('annotation', drawn.pk)}/validate/{answer}",
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == status
    assert response.json() == payload
    assert not AnnotationVote.objects.exists()


def test_a_vote_on_an_unknown_annotation_is_a_404(client):
    response = vote(client, Annotation(pk=12345))

    assert response.status_code == 404


def test_votes_are_rate_limited(client, drawn, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "vote": {"minute": [0, 0, 0, None]}}
    client.get("/v1/annotation")

    assert vote(client, drawn).status_code == 429
    assert not AnnotationVote.objects.exists()


# ---------------------------------------------------------------------------- unannotated tasks


def test_unannotated_tasks_by_query(client, apple_task):
    pear = AnnotationTaskFactory(label=LabelFactory(name="pear"))
    done = submitted_annotation(shapes=[{"type": "rect", "x": 0, "y": 0, "width": 1, "height": 1}])

    response = client.get("/v1/validations/unannotated?query=apple%7Cpear")

    assert response.status_code == 200
    rows = response.json()
    assert sorted(row["label"]["accessor"] for row in rows) == ["apple", "pear"]
    apple = next(row for row in rows if row["label"]["accessor"] == "apple")
    assert apple == {
        "image": {
            "uuid": str(apple_task.image_id),
            "unlocked": True,
            "url": f"http://testserver/v1/donation/{apple_task.image_id}",
            "width": 1132,
            "height": 750,
        },
        "label": {"accessor": "apple"},
        "uuid": wire_id("validation", apple_task.pk),
    }
    assert wire_id("validation", pear.pk) in {row["uuid"] for row in rows}
    assert wire_id("validation", done.image_label_id) not in {row["uuid"] for row in rows}


def test_unannotated_images_without_labels_show_empty_ids(client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    rows = client.get("/v1/validations/unannotated?query=image.unlabeled%3D'true'").json()

    assert rows == [
        {
            "image": {
                "uuid": str(image.pk),
                "unlocked": True,
                "url": f"http://testserver/v1/donation/{image.pk}",
                "width": image.width,
                "height": image.height,
            },
            "label": {"accessor": ""},
            "uuid": "",
        }
    ]


def test_unannotated_is_null_when_empty_and_422_without_a_query(client):
    LabelFactory(name="apple")

    assert client.get("/v1/validations/unannotated?query=apple").content == b"null"
    missing = client.get("/v1/validations/unannotated")
    assert (missing.status_code, missing.json()) == (422, {"error": "please provide a valid query"})
    assert client.get("/v1/validations/unannotated?query=apple%20%26").status_code == 422


# ---------------------------------------------------------------------------- not annotatable


def not_annotatable(client, image_label):
    return client.post(f"/v1/validation/{wire_id('validation', image_label.pk)}/not-annotatable")


def test_not_annotatable_marks_retire_a_task_after_a_few_clients(client, apple_task, settings):
    settings.ANNOTATION_RETIRE_AFTER = 2

    first = not_annotatable(client, apple_task)
    again = not_annotatable(client, apple_task)

    assert (first.status_code, first.content) == (200, b"null")
    assert again.status_code == 200
    apple_task.refresh_from_db()
    assert (apple_task.not_annotatable_marks, apple_task.needs_annotation) == (1, True)
    not_annotatable(client_named("second app"), apple_task)
    apple_task.refresh_from_db()
    assert (apple_task.not_annotatable_marks, apple_task.needs_annotation) == (2, False)
    assert AnnotationTaskMark.objects.count() == 2
    assert not Lease.objects.exists()


def test_not_annotatable_respects_someone_elses_lease(client, apple_task):
    client_named("holder").get("/v1/annotate")

    response = not_annotatable(client, apple_task)

    assert response.status_code == 409
    apple_task.refresh_from_db()
    assert apple_task.not_annotatable_marks == 0


def test_not_annotatable_on_an_unknown_validation_is_a_404(client):
    response = client.post("/v1/validation/nope/not-annotatable")

    assert response.status_code == 404
    assert response.json() == {
        "error": "Couldn't mark validation as not-annotatable - no validation with that id"
    }


# ---------------------------------------------------------------------------- the schema


def test_the_routes_are_in_the_openapi_schema_under_the_v1_tag(client):
    schema = client.get("/api/schema/?format=json").json()

    for route, method in [
        ("/v1/annotate", "get"),
        ("/v1/donation/{image_id}/annotate", "post"),
        ("/v1/annotation", "get"),
        ("/v1/annotation/{annotation_id}", "put"),
        ("/v1/annotation/{annotation_id}/validate/{answer}", "post"),
        ("/v1/donation/{image_id}/annotations", "get"),
        ("/v1/validations/unannotated", "get"),
        ("/v1/validation/{validation_id}/not-annotatable", "post"),
    ]:
        operation = schema["paths"][route][method]
        assert operation["tags"] == ["v1 (ImageMonkey-compatible)"]
        assert operation["summary"]


def test_the_contributor_of_anonymous_writes_is_one_per_client(client, apple_task):
    annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])
    annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])

    annotation = Annotation.objects.get()
    assert annotation.revisions.values("author").distinct().count() == 1
    assert Contributor.objects.filter(user__isnull=True).count() >= 1
    assert ImageLabel.objects.get(pk=apple_task.pk).needs_annotation is False


# ---------------------------------------------------------------------------- the site's readers


def test_the_sites_exports_leave_out_the_clients_copy(client, apple_task):
    from datasets.models import ExportOutline
    from datasets.services import export_outlines_refresh

    annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])
    export_outlines_refresh()

    [shape] = json.loads(ExportOutline.objects.get().shapes)
    assert shape["type"] == "rect"
    assert "original" not in shape


def test_the_sites_point_cap_is_a_422_with_its_reason(client, apple_task):
    points = [
        {"x": 500 + 100 * math.cos(t / 100), "y": 300 + 100 * math.sin(t / 100)} for t in range(629)
    ]

    response = annotate(
        client,
        apple_task.image_id,
        [{"annotations": [{"type": "polygon", "points": points}], "label": "apple"}],
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid request - annotations invalid: shapes[0].points: at most 500 points "
        "per polygon, not 629"
    }
    assert not Annotation.objects.exists()
    assert not Lease.objects.exists()


def test_a_hidden_annotation_is_not_annotated_again(client, apple_task):
    annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])
    annotation_hide(annotation_id=Annotation.objects.get().pk)

    response = annotate(client, apple_task.image_id, [{"annotations": [GO_RECT], "label": "apple"}])

    assert response.status_code == 409
    assert "reviewed by moderators" in response.json()["error"]
    assert Annotation.objects.get().revision == 1


def test_an_images_annotations_take_the_same_queries_however_many(
    client, django_assert_max_num_queries
):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    rect = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}
    for name in ("apple", "pear", "plum"):
        task = AnnotationTaskFactory(image=image, label=LabelFactory(name=name))
        submitted_annotation_on(task, [rect])

    with django_assert_max_num_queries(3):
        rows = client.get(f"/v1/donation/{image.pk}/annotations").json()

    assert [row["validation"]["label"] for row in rows] == ["apple", "pear", "plum"]


def test_a_random_annotation_to_review_takes_few_queries(
    client, drawn, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        assert client.get("/v1/annotation").status_code == 200


def submitted_annotation_on(task, shapes):
    from annotations.services import annotation_submit

    author = ContributorFactory()
    lease = annotation_task_lease_for(
        contributor=author, image=task.image, label_name=task.label.name
    )
    return annotation_submit(contributor=author, lease_id=lease.pk, shapes=shapes)
