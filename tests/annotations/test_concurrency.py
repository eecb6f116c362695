"""Many annotators asking for tasks at once: parallel PostgreSQL connections in one process,
and requests spread over two server processes."""

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from annotations.models import Lease
from annotations.services import annotation_task_lease
from tests.factories import (
    AnnotationTaskFactory,
    ContributorFactory,
    RegisteredContributorFactory,
    api_token_for,
)
from tests.servers import server_processes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers, so nothing would run concurrently",
    ),
]


def test_concurrent_requests_never_lease_one_task_twice():
    tasks = [AnnotationTaskFactory() for _ in range(10)]
    annotators = [ContributorFactory() for _ in range(32)]

    def lease_for(contributor):
        try:
            lease = annotation_task_lease(contributor=contributor)
            return lease.image_label_id if lease else None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        leased = [task for task in pool.map(lease_for, annotators) if task is not None]

    assert sorted(leased) == sorted(task.pk for task in tasks)  # each task once, all handed out
    assert Lease.objects.count() == 10


def test_two_server_processes_never_lease_one_task_twice():
    """24 annotators ask at the same instant, alternating between two server processes."""
    tasks = [AnnotationTaskFactory() for _ in range(12)]
    keys = [api_token_for(RegisteredContributorFactory().user) for _ in range(24)]
    start = threading.Barrier(len(keys))

    def next_task(port: int, key: str) -> int | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/annotations/next/",
            method="POST",
            headers={"Authorization": f"Token {key}"},
        )
        start.wait(timeout=30)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local
            return json.load(response)["image_label"] if response.status == 200 else None

    with (
        server_processes(2, RATELIMIT_ENABLE="false") as ports,
        ThreadPoolExecutor(max_workers=len(keys)) as pool,
    ):
        granted = list(pool.map(next_task, [ports[i % 2] for i in range(len(keys))], keys))

    leased = [task for task in granted if task is not None]
    assert sorted(leased) == sorted(task.pk for task in tasks)  # each task once, all handed out
    assert Lease.objects.count() == 12
