"""The rules of trust: who is in training, whose judgements count and how much, when gold is
due. Task apps call these; nothing here knows which task a judgement was about."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contributors.models import Contributor, TrustLevel

from .arithmetic import fails_gold_checks, passes_training, vote_weight, wilson_bounds


@dataclass(frozen=True)
class JudgementResult:
    vote: Any  # the stored judgement: a label vote, an annotation review
    # Only while training and only for gold items: was the answer right, and what is right.
    feedback: dict | None = None


def gold_rate(contributor: Contributor | None) -> float:
    """Share of tasks that are gold: high while training, decaying with experience."""
    if contributor is None or contributor.in_training:
        return settings.GOLD_RATE_TRAINING
    if contributor.trust_level == TrustLevel.MODERATOR:
        return 0.0
    decay = settings.GOLD_RATE_DECAY_VOTES / max(
        settings.GOLD_RATE_DECAY_VOTES, contributor.votes_cast
    )
    return max(settings.GOLD_RATE_FLOOR, settings.GOLD_RATE_AFTER_TRAINING * decay)


def gold_due(contributor: Contributor | None, *, rng, rate: float | None = None) -> bool:
    """Whether the next task should be a gold item: always a newcomer's first one, then at the
    contributor's gold rate, or `rate` (label questions and annotation reviews alike)."""
    first_task = contributor is None or (contributor.in_training and contributor.gold_answered == 0)
    return first_task or rng.random() < (gold_rate(contributor) if rate is None else rate)


def counts_votes(contributor: Contributor) -> bool:
    """Whether this contributor's judgements count toward consensus now."""
    return contributor.votes_counted or contributor.trust_level == TrustLevel.MODERATOR


def judgement_weight(contributor: Contributor) -> float:
    """Evidence one counted judgement of this contributor adds (0 while it does not count)."""
    if not counts_votes(contributor):
        return 0.0
    if contributor.trust_level == TrustLevel.MODERATOR:
        return settings.CONSENSUS_MODERATOR_WEIGHT
    return vote_weight(
        correct=contributor.gold_correct,
        answered=contributor.gold_answered,
        cap=settings.CONSENSUS_MAX_VOTE_WEIGHT,
    )


def recount_enqueue(contributor_id: int) -> None:
    """Recount all of a contributor's judgements in the background, once this commits."""
    from .tasks import recount_contributor_judgements  # tasks.py imports the recount registry

    transaction.on_commit(
        lambda: recount_contributor_judgements.enqueue(contributor_id=contributor_id)
    )


def training_evaluate(*, contributor_id: int) -> Contributor:
    """Apply the training and trust rules after a gold answer; recount when counting flips."""
    contributor = Contributor.objects.select_for_update().get(pk=contributor_id)
    correct, answered = contributor.gold_correct, contributor.gold_answered
    z = settings.TRAINING_CONFIDENCE_Z
    bound = settings.TRAINING_ACCURACY_BOUND
    changed: list[str] = []
    if not contributor.votes_counted and passes_training(
        correct=correct,
        answered=answered,
        min_answered=settings.TRAINING_MIN_GOLD,
        bound=bound,
        z=z,
    ):
        contributor.votes_counted = True
        changed.append("votes_counted")
        if contributor.training_passed_at is None:
            contributor.training_passed_at = timezone.now()
            changed.append("training_passed_at")
    elif contributor.votes_counted and fails_gold_checks(
        correct=correct, answered=answered, bound=bound, z=z
    ):
        contributor.votes_counted = False
        changed.append("votes_counted")

    if not contributor.trust_level_locked and contributor.trust_level != TrustLevel.MODERATOR:
        level = TrustLevel.NEWCOMER
        if contributor.votes_counted:
            level = TrustLevel.CONTRIBUTOR
            trusted_bound = settings.TRUST_TRUSTED_ACCURACY_BOUND
            if (
                answered >= settings.TRUST_TRUSTED_MIN_GOLD
                and wilson_bounds(correct, answered, z)[0] >= trusted_bound
            ):
                level = TrustLevel.TRUSTED
        if level != contributor.trust_level:
            contributor.trust_level = level
            changed.append("trust_level")
    if changed:
        contributor.save(update_fields=changed)
    if "votes_counted" in changed:
        recount_enqueue(contributor.pk)
    return contributor


def gold_answer_record(
    *, contributor: Contributor, correct: bool | None, expected: str, feedback: bool = True
) -> dict | None:
    """Count an answer on a gold item (label or annotation) in the contributor's gold record
    and apply the training rules; `correct` is None for "not sure", which counts for nothing.
    Returns the feedback a trainee sees (right or not, the expected answer, passed or not) when
    `feedback` is allowed (training gold; hidden checks never say anything)."""
    if correct is None:
        return None
    Contributor.objects.filter(pk=contributor.pk).update(
        gold_answered=F("gold_answered") + 1,
        gold_correct=F("gold_correct") + int(correct),
    )
    was_training = contributor.in_training
    updated = training_evaluate(contributor_id=contributor.pk)
    if not was_training or not feedback:
        return None
    return {"correct": correct, "expected": expected, "training_passed": not updated.in_training}


def judgements_counted(*, contributor: Contributor, count: int) -> None:
    """Note `count` more judgements of a contributor (the experience gold scheduling decays on)."""
    Contributor.objects.filter(pk=contributor.pk).update(votes_cast=F("votes_cast") + count)


def trust_records_merge(*, source: Contributor, target: Contributor) -> None:
    """One person, two identities: the anonymous one's known answers and experience join the
    account's, the training rules are applied to the sum, and every judgement (now all under
    the account) is recounted as the merged record says (listens to "contributor.merged")."""
    Contributor.objects.filter(pk=target.pk).update(
        gold_answered=F("gold_answered") + source.gold_answered,
        gold_correct=F("gold_correct") + source.gold_correct,
        votes_cast=F("votes_cast") + source.votes_cast,
    )
    Contributor.objects.filter(pk=source.pk).update(
        gold_answered=0, gold_correct=0, votes_cast=0, votes_counted=False
    )
    training_evaluate(contributor_id=target.pk)
    recount_enqueue(target.pk)


@transaction.atomic
def contributor_trust_set(*, contributor: Contributor, level: int, locked: bool) -> Contributor:
    """A moderator's override of a trust level (and its lock); recounts judgements if that
    changes whether this contributor's count."""
    counted_before = counts_votes(contributor)
    contributor.trust_level = level
    contributor.trust_level_locked = locked
    contributor.save(update_fields=["trust_level", "trust_level_locked"])
    if counts_votes(contributor) != counted_before:
        recount_enqueue(contributor.pk)
    return contributor
