"""Weighted evidence on anything judged yes/no by the crowd (image-labels, annotation reviews)."""

import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Abs, Exp, Least


def decisive_evidence() -> float:
    """Log-odds at which an item counts as decided (from the decisive probability)."""
    probability = settings.CONSENSUS_DECISIVE_PROBABILITY
    return math.log(probability / (1 - probability))


@dataclass(frozen=True)
class EvidenceUpdate:
    changes: dict
    decided_yes: Q
    undecided: Q


def evidence_update(
    *,
    delta: float,
    counted_delta: int,
    state_field: str,
    states: tuple[str, str, str],
    established_delta: float | None = None,
) -> EvidenceUpdate:
    """The columns every weighted-evidence row updates (image-labels, annotation reviews).

    Every derived column is computed by the database from the row's current values, so
    concurrent votes never lose an update and no lock is held between read and write.
    SQL evaluates the right-hand sides against the old row, hence the shifted thresholds.
    `states` names the row's (yes, no, open) states. Rows that keep the evidence of
    established sources apart (`established_delta` given) are decided only when enough of it
    points the same way, so a cohort of new identities cannot decide alone.
    """
    decisive = decisive_evidence()
    yes_state, no_state, open_state = states
    new_evidence = F("evidence") + delta
    new_counted = F("counted_votes") + counted_delta
    decided_yes = Q(evidence__gte=decisive - delta)
    decided_no = Q(evidence__lte=-decisive - delta)
    changes = {
        "evidence": new_evidence,
        "counted_votes": new_counted,
        "probability": 1.0 / (1.0 + Exp(-new_evidence)),
    }
    # Priority goes by the evidence that can decide: a flood of new identities on an item
    # does not push it to the back of the queue.
    settled = new_evidence
    if established_delta is not None:
        needed = settings.CONSENSUS_ESTABLISHED_EVIDENCE
        decided_yes &= Q(established_evidence__gte=needed - established_delta)
        decided_no &= Q(established_evidence__lte=-needed - established_delta)
        settled = F("established_evidence") + established_delta
        changes["established_evidence"] = settled
    changes |= {
        state_field: Case(
            When(decided_yes, then=Value(yes_state)),
            When(decided_no, then=Value(no_state)),
            default=Value(open_state),
        ),
        # Fewest counted votes and least evidence first; the random fraction spreads voters.
        "sort_key": Least(new_counted, 10) + Abs(settled) + F("random_key"),
    }
    return EvidenceUpdate(
        changes=changes, decided_yes=decided_yes, undecided=~decided_yes & ~decided_no
    )
