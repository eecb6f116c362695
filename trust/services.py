"""The rules of trust: who is in training, whose judgements count and how much, when gold is
due. Task apps call these; nothing here knows which task a judgement was about."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from contributors.models import Contributor, TrustLevel
from core.events import announce, decision_announce

from .arithmetic import (
    alarm_step,
    fails_gold_checks,
    log_odds_weight,
    passes_training,
    vote_weight,
    wilson_bounds,
)
from .reliability import estimate_due


@dataclass(frozen=True)
class JudgementResult:
    vote: Any  # the stored judgement: a label vote, an annotation review
    # Only while training and only for gold items: was the answer right, and what is right.
    feedback: dict | None = None


def gold_rate(contributor: Contributor | None) -> float:
    """Share of tasks that are gold: high while training or demoted, decaying with experience."""
    if contributor is None or contributor.trust_level == TrustLevel.MODERATOR:
        return 0.0 if contributor is not None else settings.GOLD_RATE_TRAINING
    if contributor.in_training or not counts_votes(contributor):
        return settings.GOLD_RATE_TRAINING
    decay = settings.GOLD_RATE_DECAY_VOTES / max(
        settings.GOLD_RATE_DECAY_VOTES, contributor.votes_cast
    )
    return max(settings.GOLD_RATE_FLOOR, settings.GOLD_RATE_AFTER_TRAINING * decay)


def gold_due(contributor: Contributor | None, *, rng, rate: float | None = None) -> bool:
    """Whether the next task should be a gold item, at the contributor's gold rate or `rate`
    (label questions and annotation reviews alike).

    Never "always the first task": a visitor without an identity (or a fresh one) asking again
    and again would collect the gold ids.
    """
    return rng.random() < (gold_rate(contributor) if rate is None else rate)


def counts_votes(contributor: Contributor) -> bool:
    """Whether this contributor's judgements count toward consensus now (never while a
    moderator's revert of them stands)."""
    if contributor.reverted_at is not None:
        return False
    return contributor.votes_counted or contributor.trust_level == TrustLevel.MODERATOR


def counts_judgement(contributor: Contributor, *, given_at: datetime) -> bool:
    """Whether a judgement given at `given_at` counts: the contributor counts now, and it was
    not given before a demotion (only what follows a renewed promotion counts again)."""
    since = contributor.counting_since
    return counts_votes(contributor) and (since is None or given_at >= since)


def judgements_to_recount(contributor: Contributor, *, weight: float | None = None) -> Q:
    """The judgements (votes, reviews, answers) whose counting is not what the contributor's
    standing says now: counted while they don't count, or not counted while they do — except
    those given before a demotion, which stay uncounted after a renewed promotion. With
    `weight`, counted ones at another weight too."""
    if not counts_votes(contributor):
        return Q(counted=True)
    settled = Q(counted=True) if weight is None else Q(counted=True, weight=weight)
    since = contributor.counting_since
    if since is not None:
        settled = (settled & Q(created_at__gte=since)) | Q(counted=False, created_at__lt=since)
    return ~settled


def judgement_weight(contributor: Contributor) -> float:
    """Evidence one counted judgement of this contributor adds (0 while it does not count).

    The smaller of two estimates of the voter's accuracy: from gold answers, and from
    agreement with everyone else — the Dawid-Skene estimate once the voter has enough answers
    for one, before that their agreement with decided outcomes under a prior that starts a
    new identity small. A voter right on gold and wrong elsewhere has little weight however
    good the gold record.
    """
    if not counts_votes(contributor):
        return 0.0
    if contributor.trust_level == TrustLevel.MODERATOR:
        return settings.CONSENSUS_MODERATOR_WEIGHT
    cap = settings.CONSENSUS_MAX_VOTE_WEIGHT
    by_gold = vote_weight(
        correct=contributor.gold_correct, answered=contributor.gold_answered, cap=cap
    )
    if contributor.reliability is not None:
        # The Dawid-Skene estimate already carries its own prior.
        agreed, judged, prior_agreed, prior_judged = contributor.reliability, 1.0, 0.0, 0.0
    else:
        agreed, judged = contributor.agreement_agreed, contributor.agreement_judged
        prior_agreed = settings.AGREEMENT_PRIOR_AGREED
        prior_judged = settings.AGREEMENT_PRIOR_JUDGED
    by_agreement = log_odds_weight(
        successes=agreed,
        trials=judged,
        prior_successes=prior_agreed,
        prior_trials=prior_judged,
        cap=cap,
    )
    return min(by_gold, by_agreement)


def is_established(contributor: Contributor, *, at: datetime) -> bool:
    """Whether a judgement given at `at` comes from an established source: a moderator, or an
    identity already CONSENSUS_ESTABLISHED_DAYS old then (new identities are cheap to make)."""
    if contributor.trust_level == TrustLevel.MODERATOR:
        return True
    return at - contributor.created_at >= timedelta(days=settings.CONSENSUS_ESTABLISHED_DAYS)


def recount_enqueue(contributor_id: int) -> None:
    """Recount all of a contributor's judgements in the background, once this commits."""
    from .tasks import recount_contributor_judgements  # tasks.py imports the recount registry

    transaction.on_commit(
        lambda: recount_contributor_judgements.enqueue(contributor_id=contributor_id)
    )


def training_evaluate(*, contributor_id: int) -> Contributor:
    """Apply the training and trust rules after a gold answer; recount when counting flips.

    A first promotion counts everything the newcomer answered in training. After a demotion
    the old record is not enough: promotion needs TRAINING_MIN_GOLD_AFTER_DEMOTION fresh
    hidden-gold answers, and only judgements from then on count.
    """
    contributor = Contributor.objects.select_for_update().get(pk=contributor_id)
    correct, answered = contributor.gold_correct, contributor.gold_answered
    z = settings.TRAINING_CONFIDENCE_Z
    bound = settings.TRAINING_ACCURACY_BOUND
    changed: list[str] = []
    if not contributor.votes_counted:
        # After a demotion only the probation record (answers since) can promote again.
        fresh = contributor.demoted_at is None
        promoted = passes_training(
            correct=correct if fresh else contributor.probation_gold_correct,
            answered=answered if fresh else contributor.probation_gold_answered,
            min_answered=(
                settings.TRAINING_MIN_GOLD if fresh else settings.TRAINING_MIN_GOLD_AFTER_DEMOTION
            ),
            bound=bound,
            z=z,
        )
        if promoted:
            contributor.votes_counted = True
            changed.append("votes_counted")
            if contributor.training_passed_at is None:
                contributor.training_passed_at = timezone.now()
                changed.append("training_passed_at")
            if contributor.demoted_at is not None:
                contributor.counting_since = timezone.now()
                changed.append("counting_since")
    elif fails_gold_checks(correct=correct, answered=answered, bound=bound, z=z):
        changed += _demotion(contributor)

    changed += _trust_level_apply(contributor)
    if changed:
        contributor.save(update_fields=changed)
    if "votes_counted" in changed:
        recount_enqueue(contributor.pk)
    return contributor


def _demotion(contributor: Contributor) -> list[str]:
    """Stop counting a voter (unsaved; returns the fields changed). It sticks: the probation
    record starts empty and the change detector starts over."""
    if not contributor.votes_counted or contributor.trust_level == TrustLevel.MODERATOR:
        return []
    contributor.votes_counted = False
    contributor.demoted_at = timezone.now()
    contributor.probation_gold_answered = 0
    contributor.probation_gold_correct = 0
    contributor.agreement_alarm = 0.0
    return [
        "votes_counted",
        "demoted_at",
        "probation_gold_answered",
        "probation_gold_correct",
        "agreement_alarm",
    ]


def _trust_level_apply(contributor: Contributor) -> list[str]:
    if contributor.trust_level_locked or contributor.trust_level == TrustLevel.MODERATOR:
        return []
    level = TrustLevel.NEWCOMER
    if contributor.votes_counted:
        level = TrustLevel.CONTRIBUTOR
        if (
            contributor.gold_answered >= settings.TRUST_TRUSTED_MIN_GOLD
            and wilson_bounds(
                contributor.gold_correct, contributor.gold_answered, settings.TRAINING_CONFIDENCE_Z
            )[0]
            >= settings.TRUST_TRUSTED_ACCURACY_BOUND
        ):
            level = TrustLevel.TRUSTED
    if level == contributor.trust_level:
        return []
    contributor.trust_level = level
    return ["trust_level"]


def contributor_demote(*, contributor_id: int, reason: str) -> bool:
    """Demote a counting voter now (the change detector fired, or the reliability estimate is
    too low); their judgements are recounted. Returns whether anything changed."""
    with transaction.atomic():
        contributor = Contributor.objects.select_for_update().get(pk=contributor_id)
        changed = _demotion(contributor)
        if not changed:
            return False
        changed += _trust_level_apply(contributor)
        contributor.save(update_fields=changed)
        recount_enqueue(contributor.pk)
        announce(
            "contributor.demoted",
            contributor_id=contributor.pk,
            reason=reason,
            judged=contributor.agreement_judged,
            agreed=contributor.agreement_agreed,
        )
    return True


def _alarm_raise(contributor_id: int, *, agreed: bool) -> None:
    """Feed one judged answer to the change detector; demote a counting voter at its limit."""
    contributor = Contributor.objects.filter(pk=contributor_id).only("agreement_alarm").first()
    if contributor is None:
        return
    alarm = alarm_step(
        contributor.agreement_alarm,
        agreed=agreed,
        expected=settings.AGREEMENT_ALARM_EXPECTED,
        suspect=settings.AGREEMENT_ALARM_SUSPECT,
    )
    Contributor.objects.filter(pk=contributor_id).update(agreement_alarm=alarm)
    # Someone not counted has nothing to lose; their detector starts over.
    if alarm >= settings.AGREEMENT_ALARM_LIMIT and not contributor_demote(
        contributor_id=contributor_id, reason="their answers turned against the decided outcomes"
    ):
        Contributor.objects.filter(pk=contributor_id).update(agreement_alarm=0.0)


@dataclass(frozen=True)
class Agreement:
    """One answer judged against its item's decision: whether it agrees, and what it was
    judged as before (None the first time; the decision turned otherwise)."""

    contributor_id: int
    agreed: bool
    before: bool | None = None


def agreements_record(agreements: list[Agreement]) -> None:
    """Note answers judged against decided outcomes in their voters' agreement records. A
    first judgement also feeds the change detector; a turned decision only corrects the
    count (the detector looks forward)."""
    for agreement in sorted(agreements, key=lambda a: a.contributor_id):
        if agreement.before is None:
            Contributor.objects.filter(pk=agreement.contributor_id).update(
                agreement_judged=F("agreement_judged") + 1,
                agreement_agreed=F("agreement_agreed") + int(agreement.agreed),
            )
            _alarm_raise(agreement.contributor_id, agreed=agreement.agreed)
        elif agreement.before != agreement.agreed:
            Contributor.objects.filter(pk=agreement.contributor_id).update(
                agreement_agreed=F("agreement_agreed") + (1 if agreement.agreed else -1)
            )


def gold_answer_record(
    *, contributor: Contributor, correct: bool | None, expected: str, feedback: bool = True
) -> dict | None:
    """Count an answer on a gold item (label or annotation) in the contributor's gold record
    and apply the training rules; `correct` is None for "not sure", which counts for nothing.
    After a demotion it also counts toward the fresh record promotion needs; for a counting
    voter it feeds the change detector. Returns the feedback a trainee sees (right or not,
    the expected answer, passed or not) when `feedback` is allowed (training gold; hidden
    checks never say anything)."""
    if correct is None:
        return None
    changes = {
        "gold_answered": F("gold_answered") + 1,
        "gold_correct": F("gold_correct") + int(correct),
    }
    if contributor.demoted_at is not None and not contributor.votes_counted:
        changes["probation_gold_answered"] = F("probation_gold_answered") + 1
        changes["probation_gold_correct"] = F("probation_gold_correct") + int(correct)
    Contributor.objects.filter(pk=contributor.pk).update(**changes)
    was_training = contributor.in_training
    updated = training_evaluate(contributor_id=contributor.pk)
    if updated.votes_counted and contributor.votes_counted:
        _alarm_raise(contributor.pk, agreed=correct)
    if not was_training or not feedback:
        return None
    return {"correct": correct, "expected": expected, "training_passed": not updated.in_training}


def judgements_counted(*, contributor: Contributor, count: int) -> None:
    """Note `count` more judgements of a contributor (the experience gold scheduling decays on)."""
    Contributor.objects.filter(pk=contributor.pk).update(votes_cast=F("votes_cast") + count)
    announce("judgements.given", contributor_id=contributor.pk, count=count)
    if estimate_due(count):
        from .tasks import estimate_reliability  # tasks.py imports the registries

        transaction.on_commit(estimate_reliability.enqueue)


def trust_records_merge(*, source: Contributor, target: Contributor) -> None:
    """One person, two identities: the anonymous one's known answers and experience join the
    account's, the training rules are applied to the sum, and every judgement (now all under
    the account) is recounted as the merged record says (listens to "contributor.merged")."""
    Contributor.objects.filter(pk=target.pk).update(
        gold_answered=F("gold_answered") + source.gold_answered,
        gold_correct=F("gold_correct") + source.gold_correct,
        votes_cast=F("votes_cast") + source.votes_cast,
        agreement_judged=F("agreement_judged") + source.agreement_judged,
        agreement_agreed=F("agreement_agreed") + source.agreement_agreed,
    )
    Contributor.objects.filter(pk=source.pk).update(
        gold_answered=0,
        gold_correct=0,
        votes_cast=0,
        votes_counted=False,
        agreement_judged=0,
        agreement_agreed=0,
    )
    training_evaluate(contributor_id=target.pk)
    # A demotion sticks to the person, whichever identity it was earned under.
    if source.demoted_at is not None and not source.votes_counted:
        contributor_demote(
            contributor_id=target.pk, reason="an identity merged into this one was demoted"
        )
    recount_enqueue(target.pk)


@transaction.atomic
def contributor_trust_set(
    *, contributor: Contributor, level: int, locked: bool, by: AbstractBaseUser | None
) -> Contributor:
    """A moderator's override of a trust level (and its lock); recounts judgements if that
    changes whether this contributor's count."""
    counted_before = counts_votes(contributor)
    decision_announce(
        actor=by,
        kind="trust",
        target=contributor,
        before={"trust_level": contributor.trust_level, "locked": contributor.trust_level_locked},
        after={"trust_level": level, "locked": locked},
    )
    contributor.trust_level = level
    contributor.trust_level_locked = locked
    contributor.save(update_fields=["trust_level", "trust_level_locked"])
    if counts_votes(contributor) != counted_before:
        recount_enqueue(contributor.pk)
    return contributor
