"""The ImageMonkey-compatible /v1 API: request and response shapes of the original (reference
../shared/imagemonkey-v1.md), on the site's own rules."""

import base64
import io
import uuid

import orjson
import pytest
from django.test import Client
from PIL import Image as PillowImage

from contributors.models import ApiToken
from datasets.v1.wire import pk_of, wire_id
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabel, ImageLabelState, LabelSuggestion
from moderation.models import Report
from tests import image_files
from tests.factories import (
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
    RegisteredContributorFactory,
    UserFactory,
    api_token_for,
)
from validations.models import Vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def v1():
    """A client as the original's scripts are: cookies play no part in /v1."""
    return Client(enforce_csrf_checks=True)


def body(response):
    if response.streaming:
        return orjson.loads(b"".join(response.streaming_content))
    return orjson.loads(response.content)


def jpeg(seed=1, size=(64, 48)) -> io.BytesIO:
    data = io.BytesIO(image_files.jpeg(*size, seed))
    data.name = "photo.jpg"
    return data


@pytest.fixture
def dog():
    return LabelFactory(name="dog")


@pytest.fixture
def token_user():
    user = RegisteredContributorFactory().user
    return user, api_token_for(user)


# ---------------------------------------------------------------------------- conventions


def test_wire_ids_carry_the_key_and_their_kind():
    text = wire_id("validation", 123456)
    assert uuid.UUID(text).version == 4
    assert pk_of("validation", text) == 123456
    assert pk_of("annotation", text) is None
    assert pk_of("validation", "not-a-uuid") is None


def test_options_cors_and_request_id_on_every_route(v1):
    response = v1.options("/v1/label")
    assert response.status_code == 200 and response.content == b""
    response = v1.get("/v1/label", HTTP_X_REQUEST_ID="abc-1")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "X-Api-Token" in response["Access-Control-Allow-Headers"]
    assert response["X-Request-Id"] == "abc-1"


def test_unknown_routes_are_gins_plain_404_and_trailing_slashes_redirect(v1):
    response = v1.get("/v1/no-such-route")
    assert response.status_code == 404
    assert response.content == b"404 page not found"
    assert response["Content-Type"].startswith("text/plain")
    assert v1.post("/v1/no-such-route").content == b"404 page not found"
    response = v1.get("/v1/label/?detailed=true")
    assert response.status_code == 301 and response["Location"] == "/v1/label?detailed=true"


def test_v1_routes_are_in_the_openapi_schema_under_their_own_tag(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/v1/label"]["get"]
    assert operation["tags"] == ["v1 (ImageMonkey-compatible)"]
    assert "/v1/donate" in schema["paths"] and "/v1/export" in schema["paths"]


def test_a_browser_session_gives_no_authority_on_v1(v1, token_user):
    """Logged in on the site, a cross-site page could otherwise act for the visitor."""
    user, _key = token_user
    v1.force_login(user)
    response = v1.post("/v1/donate", {"image": jpeg(), "label": "not in the catalog"})
    assert response.status_code == 401
    assert body(response) == {"error": "Authentication required"}


def test_writes_from_another_sites_page_need_a_token(v1, token_user):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.post(
        f"/v1/report/{image.pk}",
        b'{"reason": "spam"}',
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert "API token" in body(response)["error"]
    assert not Report.objects.exists()
    _user, key = token_user
    response = v1.post(
        f"/v1/report/{image.pk}",
        b'{"reason": "spam"}',
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200


def test_a_query_is_decoded_twice_and_once_encoded_percent_signs_still_work(v1, dog):
    cat = LabelFactory(name="cat")
    both = ImageLabelFactory(label=dog).image
    ImageLabelFactory(label=cat, image=both)
    ImageLabelFactory(label=dog)
    # "dog & cat" encoded twice, as the original's explore page and Go tests send it.
    response = v1.get("/v1/export?query=dog%2520%2526%2520cat")
    assert [item["uuid"] for item in body(response)] == [str(both.pk)]
    # Once encoded, a lone % cannot be decoded again: taken as sent (the original: 422).
    response = v1.get("/v1/export", {"query": "dog & annotation.coverage >= 0%"})
    assert response.status_code == 200


# ---------------------------------------------------------------------------- donate


def test_donate_answers_the_uuid_of_a_locked_image(v1, dog):
    response = v1.post("/v1/donate", {"image": jpeg(), "label": "dog"})
    assert response.status_code == 200
    image = Image.objects.get(pk=body(response)["uuid"])
    assert image.status == ImageStatus.PENDING
    assert ImageLabel.objects.filter(image=image, label=dog).exists()
    locked = v1.get(f"/v1/donation/{image.pk}")
    assert locked.status_code == 404
    assert locked.content == b"Couldn't access image, as image is still in locked mode"


def test_donate_with_a_token_records_the_tokens_account(v1, token_user):
    user, key = token_user
    for headers in ({"HTTP_AUTHORIZATION": f"Bearer {key}"}, {"HTTP_X_API_TOKEN": key}):
        response = v1.post(
            "/v1/donate", {"image": jpeg(seed=len(headers[next(iter(headers))]))}, **headers
        )
        assert response.status_code == 200
        assert Image.objects.get(pk=body(response)["uuid"]).donor.user == user


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("HTTP_AUTHORIZATION", "The provided Access Token is either invalid or was revoked"),
        ("HTTP_X_API_TOKEN", "The provided API Token is either invalid or was revoked"),
    ],
)
def test_donate_with_an_invalid_token_is_401(v1, header, message):
    value = "Bearer nonsense" if header == "HTTP_AUTHORIZATION" else "nonsense"
    response = v1.post("/v1/donate", {"image": jpeg()}, **{header: value})
    assert response.status_code == 401
    assert body(response) == {"error": message}
    assert not Image.objects.exists()


@pytest.mark.parametrize(
    ("upload", "status", "message"),
    [
        (None, 400, "Picture is missing"),
        (b"", 422, "Unable to detect MIME type"),
        (b"just some text, not a picture at all", 422, "Unsopported MIME type detected"),
    ],
)
def test_donate_refusals_have_the_originals_codes_and_messages(v1, upload, status, message):
    data = {} if upload is None else {"image": io.BytesIO(upload)}
    if upload is not None:
        data["image"].name = "x.jpg"
    response = v1.post("/v1/donate", data)
    assert response.status_code == status
    assert body(response) == {"error": message}
    assert not Image.objects.exists()


def test_donating_the_same_photo_twice_is_409(v1):
    assert v1.post("/v1/donate", {"image": jpeg(seed=5)}).status_code == 200
    response = v1.post("/v1/donate", {"image": jpeg(seed=5)})
    assert response.status_code == 409
    assert body(response) == {"error": "Couldn't add photo - image already exists"}
    assert Image.objects.count() == 1


def test_an_anonymous_donation_with_a_label_outside_the_catalog_is_401(v1):
    response = v1.post("/v1/donate", {"image": jpeg(), "label": "zorblax"})
    assert response.status_code == 401
    assert not Image.objects.exists()


def test_a_banned_contributor_cannot_donate_through_v1(v1, token_user):
    from datetime import timedelta

    from django.utils import timezone

    user, key = token_user
    user.contributor.banned_until = timezone.now() + timedelta(days=1)
    user.contributor.save()
    response = v1.post("/v1/donate", {"image": jpeg()}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 403
    assert "suspended" in body(response)["error"]


# ---------------------------------------------------------------------------- image bytes


def test_image_bytes_of_an_unlocked_image_are_the_stored_file(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.get(f"/v1/donation/{image.pk}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == image.file.open("rb").read()
    assert response["Content-Type"] == image.media_type


@pytest.mark.parametrize(
    ("params", "size"),
    [("width=80", (80, 60)), ("height=30", (40, 30)), ("width=50&height=20", (50, 20))],
)
def test_image_bytes_resize_as_the_original(v1, params, size):
    image = ImageFactory(status=ImageStatus.UNLOCKED)  # 160 × 120
    response = v1.get(f"/v1/donation/{image.pk}?{params}")
    assert response.status_code == 200
    assert PillowImage.open(io.BytesIO(response.content)).size == size


def test_image_bytes_whatever_the_accept_header(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.get(f"/v1/donation/{image.pk}", HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200


def test_labelme_with_an_invalid_api_token_is_401(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.post(
        f"/v1/donation/{image.pk}/labelme",
        b'[{"label": "dog"}]',
        content_type="application/json",
        HTTP_X_API_TOKEN="made-up",
    )
    assert response.status_code == 401
    assert body(response) == {"error": "The provided API Token is either invalid or was revoked"}


def test_image_bytes_are_never_upscaled(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.get(f"/v1/donation/{image.pk}?width=1000&height=abc")
    assert b"".join(response.streaming_content) == image.file.open("rb").read()


def test_image_bytes_of_a_bad_id_are_plain_404(v1):
    response = v1.get("/v1/donation/not-a-uuid")
    assert response.status_code == 404 and response.content == b"Invalid filename"


def test_image_details_and_the_originals_401_for_an_unknown_id(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    assert body(v1.get(f"/v1/images/{image.pk}/details")) == {
        "width": 160,
        "height": 120,
        "unlocked": True,
    }
    pending = ImageFactory(status=ImageStatus.PENDING)
    for missing in (pending.pk, uuid.uuid4(), "nope"):
        response = v1.get(f"/v1/images/{missing}/details")
        assert response.status_code == 401
        assert body(response) == {"error": "No image with that id found"}


# ---------------------------------------------------------------------------- labels


@pytest.fixture
def catalog():
    mouth = LabelFactory(name="mouth", plural="mouths")
    dog = LabelFactory(name="dog", plural="dogs")
    dog.parts.add(mouth)
    colour = RefinementFactory(name="colour", values=["red", "blue"])
    kitchen = LabelFactory(name="kitchen", kind="scene")
    return {"dog": dog, "mouth": mouth, "colour": colour, "kitchen": kitchen}


def test_label_names_and_the_detailed_map(v1, catalog):
    assert body(v1.get("/v1/label")) == ["dog", "mouth"]
    detailed = body(v1.get("/v1/label?detailed=true"))
    dog = detailed["dog"]
    assert dog["plural"] == "dogs" and dog["uuid"] == wire_id("label", catalog["dog"].pk)
    assert dog["accessors"] == [".", ".has='mouth'", ".colour='red'", ".colour='blue'"]
    assert set(dog["has"]) == {"mouth"}


def test_label_accessors_plain_and_detailed(v1, catalog):
    accessors = body(v1.get("/v1/label/accessors"))
    for accessor in ("dog", "dog.has='mouth'", "dog.colour='red'", "kitchen", "colour", "red"):
        assert accessor in accessors
    detailed = body(v1.get("/v1/label/accessors?detailed=true&label_type=refinement"))
    assert {"accessor": "red", "parent_accessor": "colour"} in detailed
    response = v1.get("/v1/label/accessors?detailed=true&label_type=other")
    assert response.status_code == 422


def test_label_accessors_are_null_without_a_catalog(v1):
    assert v1.get("/v1/label/accessors").content == b"null"


def test_plurals_refinements_popular_and_suggestions(v1, catalog):
    assert body(v1.get("/v1/label/plurals")) == {"dog": "dogs", "mouth": "mouths"}
    refinements = body(v1.get("/v1/label/refinements"))
    assert set(refinements["colour"]["values"]) == {"red", "blue"}
    assert refinements["colour"]["values"]["red"]["accessors"] == [".colour='red'"]
    ImageLabelFactory(label=catalog["dog"])
    ImageLabelFactory(label=catalog["dog"])
    ImageLabelFactory(label=catalog["mouth"])
    assert body(v1.get("/v1/label/popular")) == ["dog", "mouth"]
    LabelSuggestion.objects.create(term="zorblax", text="Zorblax")
    LabelSuggestion.objects.create(term="glorp", text="glorp", state="accepted")
    assert body(v1.get("/v1/label/suggestions")) == ["glorp", "Zorblax"]
    assert body(v1.get("/v1/label/suggestions?include_unlocked=false")) == ["Zorblax"]


# ---------------------------------------------------------------------------- labelme


def test_labelme_hands_out_an_image_with_its_labels(v1, dog):
    image_label = ImageLabelFactory(label=dog, yes_count=2, no_count=1)
    data = body(v1.get("/v1/labelme"))
    assert data["image"]["uuid"] == str(image_label.image_id)
    assert data["image"]["provider"] == "donation"
    assert data["image"]["url"].endswith(f"/v1/donation/{image_label.image_id}")
    assert data["image"]["descriptions"] == []
    assert data["all_labels"] == [
        {
            "label": "dog",
            "unlocked": True,
            "annotatable": True,
            "uuid": wire_id("label", dog.pk),
            "validation": {
                "uuid": wire_id("validation", image_label.pk),
                "num_yes": 2,
                "num_no": 1,
            },
            "sublabels": None,
        }
    ]


def test_labelme_without_images_is_422(v1):
    response = v1.get("/v1/labelme")
    assert response.status_code == 422
    assert body(response) == {"error": "Couldn't process request - empty result set"}


def test_labelme_posts_labels_and_answers_null(v1, dog):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.post(
        f"/v1/donation/{image.pk}/labelme",
        orjson.dumps([{"label": "dog", "annotatable": True}]),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.content == b"null"
    assert ImageLabel.objects.filter(image=image, label=dog).exists()


def test_labelme_suggestions_need_an_account(v1, token_user):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    payload = orjson.dumps([{"label": "zorblax"}])
    response = v1.post(f"/v1/donation/{image.pk}/labelme", payload, content_type="application/json")
    assert response.status_code == 401
    assert not LabelSuggestion.objects.exists()
    _user, key = token_user
    response = v1.post(
        f"/v1/donation/{image.pk}/labelme",
        payload,
        content_type="application/json",
        HTTP_X_API_TOKEN=key,
    )
    assert response.status_code == 200
    entries = body(v1.get(f"/v1/donation/{image.pk}/labels"))
    assert entries[0]["label"] == "zorblax" and entries[0]["unlocked"] is False
    assert body(v1.get(f"/v1/donation/{image.pk}/labels?only_unlocked_labels=true")) is None


@pytest.mark.parametrize("payload", [b"", b"{not json", b'{"label": "dog"}', b"[]", b'[{"x": 1}]'])
def test_labelme_malformed_bodies_are_400(v1, payload):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.post(f"/v1/donation/{image.pk}/labelme", payload, content_type="application/json")
    assert response.status_code == 400
    assert body(response) == {"error": "Couldn't process request - labels missing"}


def test_labels_of_an_image_nobody_may_see_are_null(v1, dog):
    pending = ImageLabelFactory(label=dog, image=ImageFactory(status=ImageStatus.PENDING))
    assert v1.get(f"/v1/donation/{pending.image_id}/labels").content == b"null"
    assert v1.get("/v1/donation/nonsense/labels").content == b"null"


# ---------------------------------------------------------------------------- validation


def test_a_validation_task_and_a_vote_on_it(v1, dog):
    image_label = ImageLabelFactory(label=dog)
    task = body(v1.get("/v1/validation"))
    assert task == {
        "image": {
            "uuid": str(image_label.image_id),
            "provider": "donation",
            "unlocked": True,
            "url": task["image"]["url"],
        },
        "label": "dog",
        "sublabel": "",
        "num_yes": 0,
        "num_no": 0,
        "uuid": wire_id("validation", image_label.pk),
    }
    response = v1.post(f"/v1/validation/{task['uuid']}/validate/yes")
    assert response.status_code == 200 and response.content == b"null"
    vote = Vote.objects.get()
    assert vote.image_label == image_label and vote.answer == "yes"


def test_an_anonymous_client_keeps_one_identity_across_requests(v1, dog):
    ImageLabelFactory(label=dog)
    ImageLabelFactory(label=dog)
    for _ in range(2):
        task = body(v1.get("/v1/validation"))
        assert v1.post(f"/v1/validation/{task['uuid']}/validate/no").status_code == 200
    assert Vote.objects.values("contributor").distinct().count() == 1


def test_a_vote_on_a_question_not_handed_out_is_refused(v1, dog):
    """An attacker who reads ids from listings may not choose what they vote on."""
    image_label = ImageLabelFactory(label=dog)
    shown = body(v1.get(f"/v1/validation/{wire_id('validation', image_label.pk)}"))
    assert shown["uuid"] == wire_id("validation", image_label.pk)
    response = v1.post(f"/v1/validation/{shown['uuid']}/validate/yes")
    assert response.status_code == 409
    assert "not handed to you" in body(response)["error"]
    assert not Vote.objects.exists()


def test_vote_errors(v1):
    assert v1.post(f"/v1/validation/{wire_id('validation', 1)}/validate/maybe").content == b"null"
    assert v1.post(f"/v1/validation/{wire_id('validation', 1)}/validate/maybe").status_code == 404
    assert v1.post("/v1/validation/nope/validate/yes").status_code == 404
    assert v1.get("/v1/validation/nope").status_code == 422


def test_validation_without_questions_is_422(v1):
    response = v1.get("/v1/validation")
    assert response.status_code == 422
    assert body(response) == {"error": "Couldn't process request - empty result set"}


def _served_to_the_client(*image_labels):
    """Hand tasks to the test client as a grid would (GET /v1/validation hands one at a time)."""
    from django.test import RequestFactory

    from datasets.v1.wire import client_key
    from trust.served import tasks_serve
    from validations.services import SERVED_KIND

    subject = f"b:{client_key(RequestFactory().get('/'))}"
    tasks_serve(
        contributor=None,
        audience=(subject,),
        kind=SERVED_KIND,
        ids=[image_label.pk for image_label in image_labels],
    )
    return [wire_id("validation", image_label.pk) for image_label in image_labels]


def test_batch_validation_answers_204_and_stores_every_answer(v1, dog):
    ids = _served_to_the_client(ImageLabelFactory(label=dog), ImageLabelFactory(label=dog))
    payload = {"validations": [{"uuid": ids[0], "valid": "yes"}, {"uuid": ids[1], "valid": "no"}]}
    response = v1.patch(
        "/v1/validation/validate", orjson.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 204 and response.content == b""
    assert sorted(Vote.objects.values_list("answer", flat=True)) == ["no", "yes"]


def test_batch_validation_of_questions_not_handed_out_stores_nothing(v1, dog):
    served = _served_to_the_client(ImageLabelFactory(label=dog))
    chosen = wire_id("validation", ImageLabelFactory(label=dog).pk)
    payload = {
        "validations": [{"uuid": served[0], "valid": "yes"}, {"uuid": chosen, "valid": "no"}]
    }
    response = v1.patch(
        "/v1/validation/validate", orjson.dumps(payload), content_type="application/json"
    )
    assert response.status_code == 409
    assert not Vote.objects.exists()


@pytest.mark.parametrize("payload", [b"nope", b"[]", b'{"validations": 3}'])
def test_batch_validation_malformed_is_400(v1, payload):
    response = v1.patch("/v1/validation/validate", payload, content_type="application/json")
    assert response.status_code == 400
    assert body(response) == {"error": "Couldn't process request - invalid patch"}


def test_validations_by_query(v1, dog):
    cat = LabelFactory(name="cat")
    dog_label = ImageLabelFactory(label=dog, yes_count=3, no_count=1)
    ImageLabelFactory(label=cat, image=dog_label.image)
    ImageLabelFactory(label=cat)
    rows = body(v1.get("/v1/validations", {"query": "dog & cat"}))
    assert rows == [
        {
            "uuid": wire_id("validation", dog_label.pk),
            "num_of_yes": 3,
            "num_of_no": 1,
            "image": {
                "uuid": str(dog_label.image_id),
                "width": 160,
                "height": 120,
                "unlocked": True,
                "url": rows[0]["image"]["url"],
            },
            "label": {"name": "dog"},
        },
        rows[1],
    ]
    assert rows[1]["label"] == {"name": "cat"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (None, "please provide a valid query"),
        ("image.width > 10px", "Couldn't process request - please provide a valid query!"),
    ],
)
def test_validations_by_query_errors(v1, query, message):
    response = v1.get("/v1/validations", {} if query is None else {"query": query})
    assert response.status_code == 422 and body(response) == {"error": message}


def test_a_malformed_query_is_422_pointing_at_the_column(v1, dog):
    response = v1.get("/v1/validations", {"query": "dog & & dog"})
    assert response.status_code == 422
    message = body(response)["error"]
    assert "dog & & dog\n      ^" in message and "column 7" in message


# ---------------------------------------------------------------------------- report


def test_report_answers_null_and_files_a_report(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.post(
        f"/v1/report/{image.pk}", b'{"reason": "not a dog"}', content_type="application/json"
    )
    assert response.status_code == 200 and response.content == b"null"
    report = Report.objects.get()
    assert report.reason == "other" and report.text == "not a dog"
    assert report.case.image == image


def test_report_reason_naming_a_site_reason_is_that_reason(v1):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    v1.post(f"/v1/report/{image.pk}", b'{"reason": "Spam"}', content_type="application/json")
    assert Report.objects.get().reason == "spam"


@pytest.mark.parametrize("payload", [b"", b"[]", b'{"reason": ""}', b'{"reason": 3}'])
def test_report_without_a_reason_is_400(v1, payload):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    response = v1.post(f"/v1/report/{image.pk}", payload, content_type="application/json")
    assert response.status_code == 400
    assert body(response) == {"error": "reason missing - please provide a valid 'reason'"}


def test_report_of_an_unknown_image_is_404_not_500(v1):
    for image_id in (uuid.uuid4(), "nope", ImageFactory(status=ImageStatus.PENDING).pk):
        response = v1.post(
            f"/v1/report/{image_id}", b'{"reason": "x"}', content_type="application/json"
        )
        assert response.status_code == 404
        assert "error" in body(response)
    assert not Report.objects.exists()


# ---------------------------------------------------------------------------- export


def test_export_lists_matching_public_images_with_every_validation(v1, dog):
    cat = LabelFactory(name="cat")
    image_label = ImageLabelFactory(label=dog, yes_count=4, no_count=1)
    ImageLabelFactory(label=cat, image=image_label.image, yes_count=1)
    ImageLabelFactory(label=cat)
    ImageLabelFactory(label=dog, image=ImageFactory(status=ImageStatus.PENDING))
    items = body(v1.get("/v1/export", {"query": "dog"}))
    assert items == [
        {
            "uuid": str(image_label.image_id),
            "provider": "donation",
            "width": 160,
            "height": 120,
            "annotations": [],
            "validations": [
                {"label": "cat", "num_yes": 1, "num_no": 0},
                {"label": "dog", "num_yes": 4, "num_no": 1},
            ],
        }
    ]


def test_export_of_a_not_query_never_sends_null_validations(v1, dog):
    ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(label=dog)
    items = body(v1.get("/v1/export", {"query": "~dog"}))
    assert len(items) == 1 and items[0]["validations"] == []


def test_export_annotations_only_needs_an_outline(v1, dog):
    ImageLabelFactory(label=dog)
    assert body(v1.get("/v1/export", {"query": "dog", "annotations_only": "true"})) == []
    assert body(v1.get("/v1/export", {"query": "dog"})) != []


@pytest.mark.parametrize(
    ("params", "message"),
    [({}, "no query specified"), ({"query": ""}, "no query specified")],
)
def test_export_without_a_query_is_422(v1, params, message):
    response = v1.get("/v1/export", params)
    assert response.status_code == 422 and body(response) == {"error": message}


def test_export_with_an_unknown_label_suggests_names(v1, dog):
    response = v1.get("/v1/export", {"query": "dgo"})
    assert response.status_code == 422 and "dog" in body(response)["error"]


def test_validation_counts_by_probability_and_count(v1, dog):
    cat = LabelFactory(name="cat")
    ImageLabelFactory(label=dog, probability=0.9, state=ImageLabelState.CONFIRMED)
    ImageLabelFactory(label=dog, probability=0.95, state=ImageLabelState.CONFIRMED)
    ImageLabelFactory(label=cat, probability=0.2)
    assert body(v1.get("/v1/statistics/validations/count")) == [
        {"label": "cat", "count": 1},
        {"label": "dog", "count": 2},
    ]
    assert body(v1.get("/v1/statistics/validations/count?min_probability=0.8")) == [
        {"label": "dog", "count": 2}
    ]
    assert body(v1.get("/v1/statistics/validations/count?min_count=2")) == [
        {"label": "dog", "count": 2}
    ]
    assert body(v1.get("/v1/statistics/annotations/count")) == []


@pytest.mark.parametrize(
    ("params", "name"),
    [("min_probability=abc", "min_probability"), ("min_count=x", "min_count")],
)
def test_count_statistics_with_bad_numbers_are_422(v1, params, name):
    response = v1.get(f"/v1/statistics/validations/count?{params}")
    assert response.status_code == 422
    assert body(response) == {"error": f"Couldn't process request - invalid '{name}' parameter"}


# ---------------------------------------------------------------------------- accounts


def _basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_signup_login_use_and_logout(v1):
    payload = {"username": "alice", "email": "alice@example.org", "password": "a long passphrase 7"}
    response = v1.post("/v1/signup", orjson.dumps(payload), content_type="application/json")
    assert response.status_code == 201 and response.content == b"null"
    response = v1.post("/v1/login", HTTP_AUTHORIZATION=_basic("alice", "a long passphrase 7"))
    assert response.status_code == 200
    token = body(response)["token"]
    donated = v1.post("/v1/donate", {"image": jpeg()}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert Image.objects.get(pk=body(donated)["uuid"]).donor.user.username == "alice"
    assert v1.post("/v1/logout", HTTP_AUTHORIZATION=f"Bearer {token}").content == b"null"
    assert ApiToken.objects.get().revoked_at is not None
    response = v1.post("/v1/donate", {"image": jpeg(seed=9)}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_login_refusals(v1):
    UserFactory(username="bob")
    assert v1.post("/v1/login").status_code == 422
    for username, password in (("bob", "wrong"), ("nobody", "x")):
        response = v1.post("/v1/login", HTTP_AUTHORIZATION=_basic(username, password))
        assert response.status_code == 401
        # Unknown name and wrong password answer alike (the original's differ).
        assert body(response) == {"error": "Invalid username or password"}
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"not json", 400),
        (b'{"username": "", "email": "a@b.c", "password": "long enough pass"}', 422),
        (b'{"username": "a b", "email": "a@b.c", "password": "long enough pass"}', 422),
        (b'{"username": "carol", "email": "a@b.c", "password": "1"}', 422),
        (b'{"username": "taken", "email": "a@b.c", "password": "long enough pass 9"}', 409),
    ],
)
def test_signup_refusals(v1, payload, status):
    UserFactory(username="taken")
    response = v1.post("/v1/signup", payload, content_type="application/json")
    assert response.status_code == status
    assert "error" in body(response)


def test_an_invalid_bearer_token_is_anonymous_outside_donate_and_labelme(v1, dog):
    ImageLabelFactory(label=dog)
    response = v1.get("/v1/validation", HTTP_AUTHORIZATION="Bearer revoked-or-made-up")
    assert response.status_code == 200


def test_votes_through_v1_are_rate_limited(v1, dog, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "vote": {"minute": [1, 1, 1, None]}}
    settings.RATE_LIMIT_NETWORK_MULTIPLIER = 1
    ImageLabelFactory(label=dog)
    ImageLabelFactory(label=dog)
    first = body(v1.get("/v1/validation"))["uuid"]
    assert v1.post(f"/v1/validation/{first}/validate/yes").status_code == 200
    second = body(v1.get("/v1/validation"))["uuid"]
    response = v1.post(f"/v1/validation/{second}/validate/yes")
    assert response.status_code == 429 and "Retry-After" in response
    assert Vote.objects.count() == 1


def test_labelme_and_validation_show_a_chosen_item(v1, dog):
    image_label = ImageLabelFactory(label=dog)
    ImageLabelFactory(label=dog)
    data = body(v1.get("/v1/labelme", {"image_id": str(image_label.image_id)}))
    assert data["image"]["uuid"] == str(image_label.image_id)
    chosen = wire_id("validation", image_label.pk)
    assert body(v1.get("/v1/validation", {"validation_id": chosen}))["uuid"] == chosen
    pending = ImageFactory(status=ImageStatus.PENDING)
    assert v1.get("/v1/labelme", {"image_id": str(pending.pk)}).status_code == 422
