"""Votes racing on one image-label, on real PostgreSQL connections in parallel threads."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from core.errors import DomainError
from tests.factories import ImageLabelFactory, VoterFactory
from tests.served import vote_cast
from validations.models import Vote

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers, so nothing would run concurrently",
    ),
]


def test_a_hundred_concurrent_votes_are_each_counted_exactly_once(settings):
    # Weights small enough that 100 agreeing votes never decide the item, so every vote is
    # accepted and the sum of evidence shows whether any update was lost.
    settings.CONSENSUS_MAX_VOTE_WEIGHT = 0.1
    settings.CONSENSUS_DECISIVE_PROBABILITY = 1 - 1e-12
    image_label = ImageLabelFactory()
    voters = [VoterFactory(gold_answered=50, gold_correct=50) for _ in range(100)]

    def cast(voter):
        try:
            return vote_cast(contributor=voter, image_label_id=image_label.pk, answer="yes")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(cast, voters))

    image_label.refresh_from_db()
    assert len(results) == 100
    assert Vote.objects.filter(image_label=image_label, counted=True).count() == 100
    assert image_label.yes_count == 100
    assert image_label.counted_votes == 100
    assert image_label.evidence == pytest.approx(100 * 0.1)


def test_the_same_voter_racing_with_itself_gets_one_vote(settings):
    image_label = ImageLabelFactory()
    voter = VoterFactory()

    def cast(answer):
        try:
            return vote_cast(contributor=voter, image_label_id=image_label.pk, answer=answer)
        except DomainError as error:
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(cast, ["yes", "no"] * 5))

    image_label.refresh_from_db()
    winners = [o for o in outcomes if not isinstance(o, DomainError)]
    assert len(winners) == 1
    assert {o.code for o in outcomes if isinstance(o, DomainError)} == {"already_answered"}
    assert image_label.yes_count + image_label.no_count == 1
    assert image_label.counted_votes == 1
