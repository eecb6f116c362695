"""A revert while other voters' votes keep arriving, on parallel PostgreSQL connections: no vote
is lost and every consensus equals the sum of the votes that count."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, Q, Sum

from labels_app.models import ImageLabel
from moderation.models import RevertState
from moderation.services import revert_run, revert_start, revert_undo, revert_undo_run
from tests.factories import ImageLabelFactory, ModeratorFactory, VoterFactory
from validations.models import Vote
from validations.services import record_answer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers, so nothing would run concurrently",
    ),
]

ITEMS = 60


def consensus_matches_the_votes() -> list[str]:
    """Image-labels whose stored evidence or counted votes differ from their votes' sum."""
    wrong = []
    for item in ImageLabel.objects.annotate(
        counted=Count("votes", filter=Q(votes__counted=True)),
        yes=Sum("votes__weight", filter=Q(votes__counted=True, votes__answer="yes"), default=0.0),
        no=Sum("votes__weight", filter=Q(votes__counted=True, votes__answer="no"), default=0.0),
    ):
        if item.counted != item.counted_votes or abs(item.evidence - (item.yes - item.no)) > 1e-9:
            wrong.append(f"{item.pk}: {item.evidence} vs {item.yes - item.no}")
    return wrong


def test_votes_arriving_during_a_revert_and_its_undo_are_all_counted(
    django_capture_on_commit_callbacks,
):
    moderator = ModeratorFactory(moderation=["add_revert", "undo_revert"])
    vandal = VoterFactory()
    items = [ImageLabelFactory() for _ in range(ITEMS)]
    for item in items:
        # "yes" like everybody else: a voter who kept disagreeing would be demoted by trust's
        # change detector on the way, and this test is about votes arriving, not about that.
        with transaction.atomic():
            record_answer(contributor=vandal, image_label=item, answer="yes")
    others = [VoterFactory() for _ in range(4)]
    with django_capture_on_commit_callbacks(execute=False):  # run the tasks by hand, below
        revert = revert_start(contributor=vandal, moderator=moderator, reason="x")

    def vote_all(voter):
        try:
            for item in items:
                with transaction.atomic():  # as vote_cast, the API's path, runs it
                    record_answer(contributor=voter, image_label=item, answer="yes")
        finally:
            connections.close_all()

    def run(step, **kwargs):
        try:
            step(**kwargs)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=vote_all, args=(voter,)) for voter in others[:2]]
    threads.append(
        threading.Thread(target=run, args=(revert_run,), kwargs={"revert_id": revert.pk})
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Vote.objects.count() == ITEMS * 3
    assert not Vote.objects.filter(contributor=vandal, counted=True).exists()
    assert consensus_matches_the_votes() == []

    with django_capture_on_commit_callbacks(execute=False):
        revert_undo(revert_id=revert.pk, moderator=moderator)
    threads = [threading.Thread(target=vote_all, args=(voter,)) for voter in others[2:]]
    threads.append(
        threading.Thread(target=run, args=(revert_undo_run,), kwargs={"revert_id": revert.pk})
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    revert.refresh_from_db()
    assert revert.state == RevertState.UNDONE
    assert Vote.objects.count() == ITEMS * 5
    assert Vote.objects.filter(contributor=vandal, counted=True).count() == ITEMS
    assert consensus_matches_the_votes() == []
