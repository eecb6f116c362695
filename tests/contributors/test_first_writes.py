"""Concurrent first writes from one browser end under one contributor.

A browser that has loaded a page holds a CSRF cookie but no session yet; the donate page then
sends two uploads at once, and a visitor may answer in two tabs. Every request leaves before any
response has set the session cookie, so each arrives without one.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from contributors.identity import SESSION_KEY
from contributors.models import Contributor
from donations.models import Image
from tests.factories import ImageLabelFactory, UserFactory
from tests.served import serve_to_browser
from validations.models import Vote

from .browser import csrf_token, photo_upload

PARALLEL = 4


def browser_tabs(count: int) -> list[Client]:
    """`count` clients sharing one browser's CSRF cookie and, like it, no session yet."""
    first = Client(enforce_csrf_checks=True)
    token = csrf_token(first)
    tabs = [first]
    for _ in range(count - 1):
        tab = Client(enforce_csrf_checks=True)
        tab.cookies["csrftoken"] = token
        tabs.append(tab)
    return tabs


def at_once(requests):
    """Run the callables in parallel threads released together; returns their results."""
    barrier = threading.Barrier(len(requests))

    def run(request):
        barrier.wait()
        try:
            return request()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(run, requests))


def session_contributor(client: Client) -> int:
    return client.session[SESSION_KEY]


@pytest.mark.django_db(transaction=True)
def test_parallel_first_uploads_of_one_browser_have_one_donor():
    tabs = browser_tabs(PARALLEL)
    token = tabs[0].cookies["csrftoken"].value

    def upload(tab, seed):
        return lambda: tab.post(
            "/api/donations/",
            {"file": photo_upload(seed), "cc0": "true"},
            headers={"X-CSRFToken": token},
        )

    responses = at_once([upload(tab, seed) for seed, tab in enumerate(tabs, start=1)])

    assert [response.status_code for response in responses] == [201] * PARALLEL
    donor = Contributor.objects.get()
    assert set(Image.objects.values_list("donor", flat=True)) == {donor.pk}
    # Whichever session cookie the browser keeps, "My donations" shows every photo.
    for tab in tabs:
        assert session_contributor(tab) == donor.pk
        page = tab.get("/images/mine/").content.decode()
        assert all(str(image.pk) in page for image in Image.objects.all())


@pytest.mark.django_db(transaction=True)
def test_parallel_first_votes_from_several_tabs_have_one_voter():
    tabs = browser_tabs(PARALLEL)
    token = tabs[0].cookies["csrftoken"].value
    items = [ImageLabelFactory() for _ in tabs]
    existing = set(Contributor.objects.values_list("pk", flat=True))
    for tab, item in zip(tabs, items, strict=True):
        serve_to_browser(tab, item)

    def answer(tab, item):
        return lambda: tab.post(
            "/api/votes/",
            {"image_label": item.pk, "answer": "yes"},
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )

    responses = at_once([answer(tab, item) for tab, item in zip(tabs, items, strict=True)])

    assert [response.status_code for response in responses] == [201] * PARALLEL
    voters = set(Vote.objects.values_list("contributor", flat=True))
    assert len(voters) == 1
    # The requests that lost the race left no contributor behind.
    assert set(Contributor.objects.values_list("pk", flat=True)) - existing == voters


@pytest.mark.django_db(transaction=True)
def test_parallel_first_writes_of_a_new_account_have_one_contributor():
    user = UserFactory()
    tabs = [Client() for _ in range(PARALLEL)]
    for tab in tabs:
        tab.force_login(user)
    items = [ImageLabelFactory() for _ in tabs]
    for tab, item in zip(tabs, items, strict=True):
        serve_to_browser(tab, item)

    def answer(tab, item):
        return lambda: tab.post(
            "/api/votes/", {"image_label": item.pk, "answer": "no"}, content_type="application/json"
        )

    responses = at_once([answer(tab, item) for tab, item in zip(tabs, items, strict=True)])

    assert [response.status_code for response in responses] == [201] * PARALLEL
    assert Contributor.objects.filter(user=user).count() == 1
    assert set(Vote.objects.values_list("contributor__user", flat=True)) == {user.pk}


@pytest.mark.django_db(transaction=True)
def test_two_browsers_writing_at_once_stay_two_contributors():
    first, second = browser_tabs(1)[0], browser_tabs(1)[0]
    items = [ImageLabelFactory(), ImageLabelFactory()]
    serve_to_browser(first, items[0])
    serve_to_browser(second, items[1])

    def answer(tab, item):
        token = tab.cookies["csrftoken"].value
        return lambda: tab.post(
            "/api/votes/",
            {"image_label": item.pk, "answer": "yes"},
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )

    at_once([answer(first, items[0]), answer(second, items[1])])

    assert session_contributor(first) != session_contributor(second)
    assert Vote.objects.values("contributor").distinct().count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_csrf_cookie_planted_in_a_browser_elsewhere_does_not_join_its_planter():
    planter, victim = browser_tabs(2)
    token = planter.cookies["csrftoken"].value
    items = [ImageLabelFactory(), ImageLabelFactory()]

    def answer(tab, item, address):
        return tab.post(
            "/api/votes/",
            {"image_label": item.pk, "answer": "yes"},
            content_type="application/json",
            headers={"X-CSRFToken": token},
            REMOTE_ADDR=address,
        )

    serve_to_browser(planter, items[0], address="198.51.100.7")
    serve_to_browser(victim, items[1], address="203.0.113.9")
    assert answer(planter, items[0], "198.51.100.7").status_code == 201
    assert answer(victim, items[1], "203.0.113.9").status_code == 201

    assert session_contributor(planter) != session_contributor(victim)
