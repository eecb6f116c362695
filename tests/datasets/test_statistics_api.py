from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from datasets.models import LabelStatistics, StatisticsDay, StatisticsSnapshot
from datasets.statistics.refresh import statistics_refresh
from labels_app.models import ImageLabelState
from tests.factories import ImageLabelFactory, LabelFactory

pytestmark = pytest.mark.django_db


def test_statistics_api_gives_totals_and_a_zero_filled_series(api_client):
    ImageLabelFactory(state=ImageLabelState.CONFIRMED)

    response = api_client.get(reverse("api-statistics"), {"days": "3"})

    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 3
    assert body["totals"] == {
        "images": 1,
        "image_labels": 1,
        "votes": 0,
        "annotations": 0,
        "contributors": 2,
        "labels": 1,
    }
    today = datetime.now(UTC).date()
    assert [day["day"] for day in body["series"]] == [
        (today - timedelta(days=n)).isoformat() for n in (2, 1, 0)
    ]
    assert [day["donations"] for day in body["series"]] == [0, 0, 1]
    assert body["refreshed_at"] is not None


def test_statistics_api_defaults_to_thirty_days(api_client):
    body = api_client.get(reverse("api-statistics")).json()

    assert body["days"] == 30
    assert len(body["series"]) == 30


@pytest.mark.parametrize("days", ["0", "366", "abc", "-3", "7.5", "١٢"])
def test_statistics_api_refuses_bad_days_naming_the_parameter(api_client, days):
    response = api_client.get(reverse("api-statistics"), {"days": days})

    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_days",
        "detail": "days must be a whole number from 1 to 365.",
    }
    assert not StatisticsSnapshot.objects.exists()
    assert not StatisticsDay.objects.exists()


def test_label_statistics_api_sorts_searches_and_pages(api_client):
    for name, count in (("dog", 3), ("cat", 1), ("donkey", 2)):
        label = LabelFactory(name=name)
        for _ in range(count):
            ImageLabelFactory(label=label)
    statistics_refresh()
    url = reverse("api-statistics-labels")

    by_images = api_client.get(url).json()
    by_name = api_client.get(url, {"sort": "-name", "q": "Do"}).json()

    assert [row["name"] for row in by_images["results"]] == ["dog", "donkey", "cat"]
    assert by_images["results"][0] == {
        "name": "dog",
        "images": 3,
        "confirmed": 0,
        "rejected": 0,
        "open": 3,
        "annotated": 0,
    }
    assert (by_images["count"], by_images["page"], by_images["pages"]) == (3, 1, 1)
    assert by_images["next"] is None
    assert [row["name"] for row in by_name["results"]] == ["donkey", "dog"]


def test_label_statistics_api_links_the_next_page(api_client):
    statistics_refresh()  # a fresh snapshot: the rows below are not recounted away
    LabelStatistics.objects.bulk_create(
        LabelStatistics(label=LabelFactory(name=f"label {n:03}"), images=n) for n in range(101)
    )

    first = api_client.get(reverse("api-statistics-labels"), {"sort": "name"}).json()
    second = api_client.get(first["next"]).json()

    assert len(first["results"]) == 100
    assert [row["name"] for row in second["results"]] == ["label 100"]
    assert second["previous"].endswith("sort=name&page=1")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"sort": "size"}, "invalid_sort", "sort must be one of name, -name, images"),
        ({"q": "x" * 65}, "invalid_q", "q takes at most 64 characters."),
        ({"page": "0"}, "invalid_page", "page must be a whole number from 1 to 10000."),
        ({"page": "two"}, "invalid_page", "page must be a whole number from 1 to 10000."),
        ({"page": "3"}, "invalid_page", "page 3 is past the last page (1)."),
    ],
)
def test_label_statistics_api_refuses_bad_input_naming_the_problem(api_client, params, code, words):
    response = api_client.get(reverse("api-statistics-labels"), params)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert words in response.json()["detail"]


def test_statistics_api_is_documented_under_the_statistics_tag(api_client):
    schema = api_client.get(reverse("api-schema"), {"format": "json"}).json()

    totals = schema["paths"]["/api/statistics/"]["get"]
    labels = schema["paths"]["/api/statistics/labels/"]["get"]
    assert totals["tags"] == labels["tags"] == ["statistics"]
    days = next(p for p in totals["parameters"] if p["name"] == "days")
    assert (days["schema"]["minimum"], days["schema"]["maximum"]) == (1, 365)
    assert "q" in {p["name"] for p in labels["parameters"]}
