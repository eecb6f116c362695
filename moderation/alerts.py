"""Alert detectors: listeners on the task apps' events that keep a few counters in the cache
(Redis in the scaled mode, so all server processes count together) and, only when one trips,
raise an alert in the background. No big table is ever polled.

What each watches (the numbers are settings):
- a consensus flipping: an image-label crossing one half ALERT_FLIPS times within ALERT_WINDOW;
- an answer burst: a contributor's answers in the current minute, as a z-score against their
  own minutes in the last hour pooled with the crowd's (ALERT_BURST_PRIOR_MINUTES of it, so a
  new identity is measured against everybody), at least ALERT_BURST_MIN answers and
  ALERT_BURST_Z deviations above;
- disagreement: trust's change detector demoting a voter whose answers turned against the
  decided outcomes (their agreement record against the crowd's, as a z-score, in the alert);
- reports: ALERT_REPORTS reports on one image or annotation within ALERT_WINDOW;
- new identities: ALERT_NEW_IDENTITIES new anonymous contributors from one wider network
  (IPv4 /24, IPv6 /48) within ALERT_WINDOW.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.ratelimits import network_of, wider_network


def _raise_later(**alert) -> None:
    from .tasks import raise_alert

    transaction.on_commit(lambda: raise_alert.enqueue(**alert))


def _recent(key: str, *, now: float) -> list[float]:
    """Timestamps kept under `key` within ALERT_WINDOW, with this one added."""
    window = settings.ALERT_WINDOW
    stamps = [stamp for stamp in cache.get(key, []) if stamp > now - window] + [now]
    cache.set(key, stamps, window)
    return stamps


def consensus_flipped(*, image_label_id: int) -> None:
    """Listens to "image_label.consensus_flipped"."""
    flips = _recent(f"alerts:flips:{image_label_id}", now=time.time())
    if len(flips) >= settings.ALERT_FLIPS:
        _raise_later(
            kind="consensus_flips",
            target_type="labels_app.imagelabel",
            target_id=str(image_label_id),
            summary=f"Image-label {image_label_id} crossed one half {len(flips)} times "
            f"within {settings.ALERT_WINDOW // 60} minutes.",
            details={"flips": len(flips)},
            voters_of_image_label=image_label_id,
        )


CROWD_KEY = "alerts:crowd-minutes"  # (minutes, answers, squared answers) of active minutes


def _crowd_add(count: int) -> None:
    minutes, total, squares = cache.get(CROWD_KEY, (0, 0, 0))
    cache.set(CROWD_KEY, (minutes + 1, total + count, squares + count * count), None)


def burst_score(*, current: int, own: list[int], crowd: tuple[int, int, int]) -> float:
    """How many deviations `current` answers in a minute lie above the usual: the contributor's
    active minutes pooled with ALERT_BURST_PRIOR_MINUTES minutes like the crowd's."""
    prior = settings.ALERT_BURST_PRIOR_MINUTES
    crowd_minutes, crowd_total, crowd_squares = crowd
    if crowd_minutes:
        crowd_mean = crowd_total / crowd_minutes
        crowd_var = max(crowd_squares / crowd_minutes - crowd_mean**2, 0.0)
    else:  # nothing known yet: a person answering every few seconds
        crowd_mean, crowd_var = settings.ALERT_BURST_CROWD_MEAN, settings.ALERT_BURST_CROWD_MEAN
    weight = len(own) + prior
    mean = (sum(own) + prior * crowd_mean) / weight
    squares = sum(value * value for value in own) + prior * (crowd_var + crowd_mean**2)
    deviation = math.sqrt(max(squares / weight - mean**2, 1.0))
    return (current - mean) / deviation


def judgements_given(*, contributor_id: int, count: int) -> None:
    """Listens to "judgements.given"."""
    key = f"alerts:minutes:{contributor_id}"
    minute = int(time.time() // 60)
    minutes: dict[int, int] = cache.get(key, {})
    if minutes and minute not in minutes:  # their last minute is over: the crowd learns it
        _crowd_add(minutes[max(minutes)])
    minutes = {past: n for past, n in minutes.items() if past > minute - 60}
    minutes[minute] = minutes.get(minute, 0) + count
    cache.set(key, minutes, 3600)
    current = minutes[minute]
    if current < settings.ALERT_BURST_MIN:
        return
    own = [n for past, n in minutes.items() if past != minute]
    score = burst_score(current=current, own=own, crowd=cache.get(CROWD_KEY, (0, 0, 0)))
    if score >= settings.ALERT_BURST_Z:
        _raise_later(
            kind="answer_burst",
            target_type="contributors.contributor",
            target_id=str(contributor_id),
            summary=f"Contributor {contributor_id} gave {current} answers in one minute "
            f"({score:.1f} deviations above the usual).",
            details={"answers_this_minute": current, "z": round(score, 1)},
            contributor_ids=[contributor_id],
        )


def contributor_demoted(*, contributor_id: int, reason: str, judged: int, agreed: int) -> None:
    """Listens to "contributor.demoted" (trust's change detector, or a low estimate)."""
    from django.db.models import Sum

    from contributors.models import Contributor

    crowd = Contributor.objects.filter(agreement_judged__gt=0).aggregate(
        judged=Sum("agreement_judged"), agreed=Sum("agreement_agreed")
    )
    share = agreed / judged if judged else None
    crowd_share = crowd["agreed"] / crowd["judged"] if crowd["judged"] else None
    z = None
    if share is not None and crowd_share is not None and 0 < crowd_share < 1:
        z = (crowd_share - share) / math.sqrt(crowd_share * (1 - crowd_share) / judged)
    _raise_later(
        kind="disagreement",
        target_type="contributors.contributor",
        target_id=str(contributor_id),
        summary=f"Contributor {contributor_id} was demoted: {reason}."
        + (
            f" They agree with {share:.0%} of decisions, the crowd with {crowd_share:.0%}."
            if z
            else ""
        ),
        details={"judged": judged, "agreed": agreed, "crowd_agreement": crowd_share, "z": z},
        contributor_ids=[contributor_id],
    )


def report_recorded(*, target: tuple[str, str], case_id: int) -> None:
    """Called by report_submit for every counted report; `target` as the audit trail names it."""
    target_type, target_id = target
    reports = _recent(f"alerts:reports:{target_type}:{target_id}", now=time.time())
    if len(reports) >= settings.ALERT_REPORTS:
        _raise_later(
            kind="report_burst",
            target_type=target_type,
            target_id=target_id,
            summary=f"{target_type.split('.')[-1].capitalize()} {target_id} got {len(reports)} "
            f"reports within {settings.ALERT_WINDOW // 60} minutes.",
            details={"reports": len(reports), "case": case_id},
            reporters_of_case=case_id,
        )


def identity_created(*, request, contributor) -> None:
    """Listens to "contributor.created" (a new anonymous identity at its first write)."""
    network = wider_network(network_of(request))
    if not network:
        return
    created = _recent(f"alerts:identities:{network}", now=time.time())
    if len(created) >= settings.ALERT_NEW_IDENTITIES:
        _raise_later(
            kind="new_identities",
            target_type="network",
            target_id=network,
            summary=f"{len(created)} new anonymous contributors from {network} within "
            f"{settings.ALERT_WINDOW // 60} minutes.",
            details={"identities": len(created), "network": network},
            contributor_ids=[contributor.pk],
        )
