import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contributors.models import Contributor
from donations.models import Image, ImageStatus
from tests import image_files
from tests.factories import (
    ImageFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
)

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def donate(client, data: bytes, *, cc0: str | None = "true", **file_options):
    payload = {"file": upload(data, **file_options)}
    if cc0 is not None:
        payload["cc0"] = cc0
    return client.post("/api/donations/", payload, format="multipart")


def test_donation_with_a_token_creates_a_pending_image(token_client, stored_files):
    response = donate(token_client, image_files.jpeg_with_gps(orientation=6))

    assert response.status_code == 201, response.json()
    body = response.json()
    image = Image.objects.get()
    assert body["id"] == str(image.pk)
    assert body["status"] == "pending"
    assert (body["width"], body["height"]) == (480, 640)
    assert body["notes"] == []
    assert body["url"].endswith(f"/images/{image.pk}/")
    assert image.donor == token_client.contributor
    assert len(stored_files()) == 3


@pytest.mark.parametrize(
    ("data", "file_options", "cc0", "status", "code", "message"),
    [
        pytest.param(
            image_files.NOT_AN_IMAGE,
            {"name": "holiday.jpg"},
            "true",
            415,
            "unsupported_format",
            "This is not a supported image",
            id="non-image-named-jpg",
        ),
        pytest.param(
            image_files.truncated_jpeg(),
            {},
            "true",
            400,
            "corrupt_image",
            "truncated or corrupt",
            id="truncated-jpeg",
        ),
        pytest.param(
            image_files.png_header_claiming(100_000, 100_000),
            {"name": "bomb.png", "content_type": "image/png"},
            "true",
            400,
            "too_many_pixels",
            "more than 40 megapixels",
            id="png-claiming-100000x100000",
        ),
        pytest.param(b"", {}, "true", 400, "empty_file", "The file is empty.", id="zero-bytes"),
        pytest.param(
            image_files.SVG,
            {"name": "logo.svg", "content_type": "image/svg+xml"},
            "true",
            415,
            "unsupported_format",
            "SVG and other markup files are not accepted",
            id="svg",
        ),
        pytest.param(
            image_files.jpeg(seed=51),
            {},
            None,
            400,
            "cc0_required",
            "dedicate it to the public domain (CC0)",
            id="missing-cc0",
        ),
        pytest.param(
            image_files.jpeg(seed=52),
            {},
            "false",
            400,
            "cc0_required",
            "dedicate it to the public domain (CC0)",
            id="cc0-false",
        ),
    ],
)
def test_bad_donations_are_refused_with_a_clear_error_and_nothing_stored(
    token_client, stored_files, data, file_options, cc0, status, code, message
):
    response = donate(token_client, data, cc0=cc0, **file_options)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert message in response.json()["detail"]
    assert Image.objects.count() == 0
    assert stored_files() == []


def test_file_over_the_size_cap_is_refused_with_413(token_client, stored_files, settings):
    data = image_files.jpeg(seed=53)
    settings.DONATION_MAX_BYTES = len(data) - 1

    response = donate(token_client, data)

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "the limit is" in response.json()["detail"]
    assert Image.objects.count() == 0
    assert stored_files() == []


def test_missing_file_field_names_the_field(token_client):
    response = token_client.post("/api/donations/", {"cc0": "true"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "file" in response.json()["fields"]


def test_the_same_photo_twice_is_a_409_pointing_at_the_first(token_client, stored_files):
    data = image_files.jpeg(seed=54)
    first = donate(token_client, data).json()
    files_before = stored_files()

    response = donate(token_client, data)

    assert response.status_code == 409
    assert response.json() == {
        "code": "duplicate",
        "detail": "This photo is already in the dataset, so nothing new was stored.",
        "image_id": first["id"],
        "url": first["url"],
    }
    assert Image.objects.count() == 1
    assert stored_files() == files_before


def test_duplicate_of_someone_elses_pending_photo_does_not_link_to_it(token_client, api_client):
    data = image_files.jpeg(seed=57)
    first = donate(token_client, data).json()
    other = RegisteredContributorFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(other.user)}")

    response = donate(api_client, data)

    assert response.status_code == 409
    assert response.json()["image_id"] == first["id"]
    assert "url" not in response.json()


def test_refused_anonymous_upload_creates_no_contributor():
    client = Client(enforce_csrf_checks=True)
    client.get("/donate/")

    response = client.post(
        "/api/donations/",
        {"file": upload(image_files.NOT_AN_IMAGE), "cc0": "true"},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )

    assert response.status_code == 415
    assert Contributor.objects.count() == 0


def test_animated_upload_keeps_the_first_frame_and_reports_it(token_client):
    response = donate(
        token_client, image_files.animated_png(), name="anim.png", content_type="image/png"
    )

    assert response.status_code == 201
    assert response.json()["notes"] == [
        "This file has several frames; only the first one was kept."
    ]


def test_anonymous_post_without_csrf_token_is_refused(csrf_api_client, stored_files):
    response = donate(csrf_api_client, image_files.jpeg(seed=55))

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Image.objects.count() == 0
    assert stored_files() == []


def test_invalid_token_is_a_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")

    response = api_client.get("/api/images/")

    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "detail": "Invalid or revoked API token.",
    }


def test_image_list_shows_only_unlocked_images_newest_first(api_client):
    older = ImageFactory(status=ImageStatus.UNLOCKED)
    newer = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageFactory(status=ImageStatus.PENDING)
    ImageFactory(status=ImageStatus.REJECTED)

    response = api_client.get("/api/images/")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(newer.pk), str(older.pk)]


def test_image_list_pages_with_a_cursor(api_client):
    images = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(5)]

    first = api_client.get("/api/images/", {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()

    seen = [item["id"] for page in (first, second, third) for item in page["results"]]
    assert seen == [str(image.pk) for image in reversed(images)]
    assert third["next"] is None


def test_image_list_filters_by_size(api_client):
    ImageFactory(status=ImageStatus.UNLOCKED)  # factory photos are 160×120

    assert len(api_client.get("/api/images/", {"min_width": 160}).json()["results"]) == 1
    assert api_client.get("/api/images/", {"min_width": 161}).json()["results"] == []


def test_image_list_refuses_a_malformed_filter(api_client):
    response = api_client.get("/api/images/", {"min_width": "wide"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "min_width" in response.json()["fields"]


def test_image_list_query_count_does_not_grow_with_the_page(
    api_client, django_assert_max_num_queries
):
    for _ in range(10):
        ImageFactory(status=ImageStatus.UNLOCKED)

    with django_assert_max_num_queries(2):
        response = api_client.get("/api/images/")
    assert len(response.json()["results"]) == 10


def test_pending_image_is_visible_to_its_donor_and_moderators_only(api_client, token_client):
    pending = ImageFactory(donor=token_client.contributor)
    url = f"/api/images/{pending.pk}/"

    assert token_client.get(url).json()["status"] == "pending"
    assert api_client.get(url).status_code == 404
    api_client.force_authenticate(ModeratorFactory())
    assert api_client.get(url).status_code == 200


def test_unknown_image_is_a_json_404(api_client):
    response = api_client.get("/api/images/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": "No API endpoint at /api/no-such-thing/.",
    }


def test_openapi_schema_documents_the_endpoints(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/images/", "/api/images/{id}/", "/api/donations/", "/api/me/"} <= set(paths)
    assert "multipart/form-data" in paths["/api/donations/"]["post"]["requestBody"]["content"]


def test_api_docs_are_served_locally_without_inline_scripts(client):
    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "<script>" not in html
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_donations_from_anonymous_session_with_csrf_token_are_accepted():
    client = Client(enforce_csrf_checks=True)
    client.get("/donate/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/api/donations/",
        {"file": upload(image_files.jpeg(seed=56)), "cc0": "true"},
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 201
    assert Contributor.objects.count() == 1
    assert Image.objects.get().donor == Contributor.objects.get()


def test_openapi_schema_is_valid_and_complete(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn: every endpoint, parameter and response is documented, none guessed.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))

    assert "/api/votes/batch/" in (tmp_path / "s.yml").read_text()


def test_donors_can_label_their_photo_at_upload_time(token_client):
    from labels_app.models import ImageLabel
    from tests.factories import LabelFactory

    LabelFactory(name="dog")

    response = token_client.post(
        "/api/donations/",
        {"file": upload(image_files.jpeg(seed=58)), "cc0": "true", "labels": ["dog", "gnome"]},
        format="multipart",
    )

    assert response.status_code == 201
    image_label = ImageLabel.objects.get()
    assert (image_label.label.name, image_label.in_queue) == ("dog", False)


def test_a_bad_label_at_upload_time_stores_nothing(token_client, stored_files):
    response = token_client.post(
        "/api/donations/",
        {"file": upload(image_files.jpeg(seed=59)), "cc0": "true", "labels": ["z" * 100]},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "label_too_long"
    assert Image.objects.count() == 0
    assert stored_files() == []
