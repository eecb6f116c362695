"""Inputs a hostile or careless client sends: each one is a clear 4xx, never a 500.

Every case here answered Django's HTML 500 page before ids, cursors, dates and bodies each got
one validated path (core.params, core.api)."""

import base64
import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from donations.models import Image
from tests import image_files
from tests.factories import ImageFactory, ImageLabelFactory, api_token_for
from validations.models import Vote

pytestmark = pytest.mark.django_db

TOO_BIG = "9223372036854775808"  # one more than the largest 64-bit id


@pytest.fixture
def client_500():
    """An API client that shows what a visitor gets instead of re-raising server errors."""
    return APIClient(raise_request_exception=False)


def assert_json_error(response, status: int, code: str | None = None, says: str = "") -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) >= {"code", "detail"}
    if code is not None:
        assert body["code"] == code
    assert says in body["detail"]
    return body


@pytest.mark.parametrize(
    "path",
    [
        f"/api/validations/next/?exclude={TOO_BIG}",
        f"/api/refinements/next/?exclude={TOO_BIG}",
        f"/api/annotations/review/next/?exclude={TOO_BIG}",
        "/api/validations/next/?exclude=1,-2",
        "/api/validations/next/?exclude=1e3",
    ],
)
def test_ids_beyond_64_bits_or_not_ids_in_exclude_are_a_400(client_500, path):
    assert_json_error(client_500.get(path), 400, "invalid_exclude", "exclude must be")


def test_quiz_page_with_an_impossible_skip_id_says_what_is_wrong():
    response = Client(raise_request_exception=False).get(
        "/annotate/quiz/?skip=99999999999999999999"
    )

    assert response.status_code == 400
    assert "skip must be comma-separated ids" in response.content.decode()


@pytest.mark.parametrize("image_label", [10**30, 2**63, -1, 0, 1.5, "1e3", True])
def test_a_vote_on_an_impossible_id_is_a_400_and_stores_nothing(client_500, image_label):
    response = client_500.post(
        "/api/votes/", {"image_label": image_label, "answer": "yes"}, format="json"
    )

    body = assert_json_error(response, 400, "invalid")
    assert "image_label" in body["fields"]
    assert not Vote.objects.exists()


def test_a_batch_with_an_id_of_ten_to_the_thirty_is_a_400_and_stores_nothing(client_500):
    good = ImageLabelFactory()

    response = client_500.post(
        "/api/votes/batch/",
        {
            "votes": [
                {"image_label": good.pk, "answer": "yes"},
                {"image_label": 10**30, "answer": "no"},
            ]
        },
        format="json",
    )

    body = assert_json_error(response, 400, "invalid", "image_label")
    assert "1" in body["fields"]["votes"]  # the second answer is the one named
    assert not Vote.objects.exists()


def test_the_grid_page_with_an_impossible_id_shows_a_message_and_stores_nothing():
    browser = Client(raise_request_exception=False)
    good = ImageLabelFactory()

    response = browser.post(
        "/validate/grid/", {"image_label": [str(good.pk), "1" * 30]}, follow=True
    )

    assert response.status_code == 200
    assert "There is no such image-label" in response.content.decode()
    assert not Vote.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", f"/api/validations/{'9' * 25}/skip/"),
        ("get", f"/api/annotations/{'9' * 25}/"),
        ("get", f"/api/annotations/{TOO_BIG}/"),
    ],
)
def test_path_ids_beyond_64_bits_are_a_json_404(client_500, method, path):
    assert_json_error(getattr(client_500, method)(path), 404, "not_found")


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("endpoint", ["/api/images/", "/api/image-labels/", "/api/annotations/"])
@pytest.mark.parametrize(
    "value",
    [
        "cD14",  # p=x
        cursor("p=\x00"),
        cursor("p=NaN"),
        cursor("p=1e999"),
        cursor("p=9999-12-31 23:59:59-14:00"),
        cursor(f"p={'9' * 40}"),
        cursor("o=abc"),
        "not base64 at all!",
    ],
)
def test_cursors_the_server_did_not_write_are_a_400(client_500, endpoint, value):
    ImageFactory(status="unlocked")

    response = client_500.get(endpoint, {"cursor": value})

    assert_json_error(response, 400, "invalid_cursor", "cursor")


def test_cursors_the_server_wrote_still_page_through(api_client):
    for _ in range(3):
        ImageLabelFactory()

    first = api_client.get("/api/image-labels/", {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-13-01", "yesterday"]
)
def test_dates_that_cannot_exist_in_utc_are_a_400_naming_the_filter(client_500, value):
    response = client_500.get("/api/images/", {"donated_after": value})

    body = assert_json_error(response, 400, "invalid")
    assert "donated_after" in body["fields"]


def test_a_date_with_an_encoded_plus_in_its_offset_still_filters(api_client):
    ImageFactory(status="unlocked")

    # "+02:00" sent without percent-encoding arrives as " 02:00".
    response = api_client.get("/api/images/?donated_after=2000-01-01T00:00:00+02:00")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[" * 1000 + "]" * 1000, "nested deeper than 32 levels"),
        ("[" * 2000 + "]" * 2000, "not valid JSON"),
        ('{"a":' * 40 + "1" + "}" * 40, "nested deeper than 32 levels"),
        ('{"image_label": NaN, "answer": "yes"}', "not valid JSON"),
        ('{"image_label": 1, "answer": "yes\\u0000"}', "NUL"),
        ("{", "not valid JSON"),
    ],
    ids=["1000-deep", "2000-deep", "40-deep", "nan", "nul", "truncated"],
)
def test_json_bodies_that_are_too_deep_or_not_json_are_a_400(client_500, value, problem):
    response = client_500.post("/api/votes/", value, content_type="application/json")

    assert_json_error(response, 400, "parse_error", problem)
    assert not Vote.objects.exists()


def test_a_json_body_over_the_limit_is_a_413(client_500, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = client_500.post(
        "/api/votes/", json.dumps({"pad": "x" * 2000}), content_type="application/json"
    )

    assert_json_error(response, 413, "body_too_large")


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_unknown_api_paths_are_a_json_404_whatever_the_method(method):
    # CSRF is enforced, as for a browser: the unknown path must still say "not found".
    client = APIClient(enforce_csrf_checks=True, raise_request_exception=False)

    response = getattr(client, method)("/api/no-such-thing/")

    assert_json_error(response, 404, "not_found", "/api/no-such-thing/")


def test_an_api_path_without_its_slash_says_which_path_was_meant(client_500):
    response = client_500.post("/api/votes", {}, format="json")

    assert_json_error(response, 404, "not_found", "Did you mean /api/votes/")


def test_a_forged_api_post_gets_a_json_403(csrf_api_client):
    item = ImageLabelFactory()

    response = csrf_api_client.post(
        "/api/votes/", {"image_label": item.pk, "answer": "yes"}, format="json"
    )

    assert_json_error(response, 403, None, "CSRF")
    assert not Vote.objects.exists()


def test_more_files_than_allowed_is_a_json_400_naming_the_limit(
    settings, stored_files, registered_contributor
):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client = APIClient(raise_request_exception=False)
    token = api_token_for(registered_contributor.user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    files = [
        SimpleUploadedFile(f"p{n}.jpg", image_files.jpeg(64, 48, n), content_type="image/jpeg")
        for n in range(3)
    ]

    response = client.post("/api/donations/", {"file": files, "cc0": "true"}, format="multipart")

    assert_json_error(response, 400, "too_many_files", "At most 2 files")
    assert not Image.objects.exists()
    assert stored_files() == []


def test_more_files_than_allowed_on_the_donate_page_is_a_page_naming_the_limit(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    browser = Client(raise_request_exception=False)
    files = [
        SimpleUploadedFile(f"p{n}.jpg", image_files.jpeg(64, 48, n), content_type="image/jpeg")
        for n in range(3)
    ]

    response = browser.post("/donate/", {"files": files, "cc0": "on"})

    assert response.status_code == 400
    assert "At most 2 files can be sent at once." in response.content.decode()
    assert not Image.objects.exists()


@pytest.mark.parametrize("path", ["/api/labels/?q=do%00g", "/api/image-labels/?label=%00"])
def test_nul_characters_in_query_strings_are_a_json_400(client_500, path):
    assert_json_error(client_500.get(path), 400, "nul_character", "NUL")


def test_nul_characters_in_a_page_form_are_a_400_page():
    browser = Client(raise_request_exception=False)
    image = ImageFactory(status="unlocked")

    response = browser.post("/label/", {"image": str(image.pk), "labels": "dog\x00"})

    assert response.status_code == 400
    assert "must not contain NUL" in response.content.decode()


def test_an_unhandled_exception_on_the_api_is_a_logged_json_500(client_500, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr("validations.api.views.next_validation_tasks", broken)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client_500.get("/api/validations/next/")

    assert_json_error(response, 500, "server_error", "logged")
    assert "the database fell over" not in response.content.decode()
    assert any("the database fell over" in str(record.exc_info) for record in caplog.records)


def test_an_unhandled_exception_on_a_page_is_the_sites_error_page(monkeypatch, caplog):
    def broken():
        raise RuntimeError("the cache fell over")

    monkeypatch.setattr("imagemonkey_site.views.site_totals", broken)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Client(raise_request_exception=False).get("/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "the cache fell over" not in response.content.decode()
    assert any(record.levelno == logging.ERROR for record in caplog.records)


@pytest.mark.parametrize(
    "cursor",
    [
        "9999-12-31T23:59:59-14:00~00000000-0000-0000-0000-000000000000",
        "0001-01-01T00:00:00+14:00~00000000-0000-0000-0000-000000000000",
        "2026-01-01T00:00:00~not-a-uuid",
        "x" * 5000,
    ],
)
@pytest.mark.parametrize("direction", ["before", "after"])
def test_gallery_pages_with_impossible_cursors_start_from_the_newest(cursor, direction):
    image = ImageFactory(status="unlocked")

    response = Client(raise_request_exception=False).get("/images/", {direction: cursor})

    assert response.status_code == 200
    assert str(image.pk) in response.content.decode()


def test_unknown_pages_are_the_sites_404_page():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


PAGES = [
    "/",
    "/donate/",
    "/images/",
    "/images/mine/",
    "/label/",
    "/validate/",
    "/validate/grid/",
    "/annotate/",
    "/annotate/browse/",
    "/annotate/review/",
    "/annotate/quiz/",
    "/accounts/login/",
    "/accounts/signup/",
]
HOSTILE_VALUES = [
    "9" * 40,
    "-1",
    "1e999",
    "NaN",
    "\u202e\u0301",
    "'; DROP TABLE images; --",
    "<script>alert(1)</script>",
    "x" * 5000,
    "9999-12-31T23:59:59-14:00~" + "0" * 36,
]
PAGE_PARAMETERS = ["label", "image", "annotation", "skip", "before", "after", "next"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_hostile_query_values_without_a_server_error(path):
    ImageLabelFactory()
    browser = Client(raise_request_exception=False)

    statuses = {
        (name, value[:12]): browser.get(path, {name: value}).status_code
        for name in PAGE_PARAMETERS
        for value in HOSTILE_VALUES
    }

    assert {key: status for key, status in statuses.items() if status >= 500} == {}
    assert (
        "<script>alert(1)</script>"
        not in browser.get(path, {"label": "<script>alert(1)</script>"}).content.decode()
    )
