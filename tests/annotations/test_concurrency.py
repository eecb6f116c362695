"""Many annotators asking for tasks at once, on parallel PostgreSQL connections."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from annotations.models import Lease
from annotations.services import annotation_task_lease
from tests.factories import AnnotationTaskFactory, ContributorFactory

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
