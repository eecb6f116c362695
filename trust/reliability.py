"""How reliable each voter is by agreement with everyone else, not only on gold.

A voter right on gold and wrong elsewhere (a sleeper who learned the checks) looks perfect on
gold. A one-coin Dawid-Skene estimate (crowd-kit) over all answers infers each item's likely
answer and each voter's accuracy together, so such a voter is found out by disagreeing with
the crowd on ordinary items. Task apps register where their answers are (label votes, reviews,
quiz answers) in their AppConfig.ready(); each kind is estimated on its own (their answer sets
differ) and a voter's estimates are averaged by how many answers each rests on.

It runs in the background every RELIABILITY_ESTIMATE_EVERY judgements (trust.tasks).
"""

import warnings
from collections import Counter
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache

from contributors.models import Contributor, TrustLevel

# `source(limit=N)` -> the newest N answers as (item, contributor id, answer) rows.
AnswerSource = Callable[..., Iterable[tuple]]
_sources: dict[str, AnswerSource] = {}
JUDGEMENTS_KEY = "trust:judgements-since-estimate"


def answers_register(name: str, source: AnswerSource) -> None:
    _sources[name] = source


# Task apps' upkeep that rests on the crowd's judgement (e.g. topping up gold pools from strong
# decisions), run after each estimate: `upkeep()` -> a summary for the task log.
_upkeep: dict[str, Callable[[], dict]] = {}


def upkeep_register(name: str, upkeep: Callable[[], dict]) -> None:
    _upkeep[name] = upkeep


def upkeep_run() -> dict[str, dict]:
    return {name: upkeep() for name, upkeep in _upkeep.items()}


def reliability_estimates() -> dict[int, tuple[float, int]]:
    """Each voter's estimated accuracy and the number of answers it rests on."""
    import pandas as pd  # heavy imports, needed only in the background task
    from crowdkit.aggregation import OneCoinDawidSkene

    weighted: Counter = Counter()
    answered: Counter = Counter()
    for source in _sources.values():
        frame = pd.DataFrame(
            list(source(limit=settings.RELIABILITY_WINDOW)), columns=["task", "worker", "label"]
        )
        if frame.empty or frame["label"].nunique() < 2:
            continue
        with warnings.catch_warnings():
            # crowd-kit 1.4 still calls pandas APIs that pandas 3 deprecates (its concern).
            warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
            skills = OneCoinDawidSkene(n_iter=100).fit(frame).skills_
        counts = frame.groupby("worker").size()
        for worker, skill in skills.items():
            weighted[worker] += float(skill) * int(counts[worker])
            answered[worker] += int(counts[worker])
    return {int(worker): (weighted[worker] / n, n) for worker, n in answered.items()}


def reliability_update() -> dict[str, int]:
    """Store every voter's estimate; demote counting voters estimated below the bound, and
    apply weights that moved to past judgements. Returns what was done, for the task log."""
    from .services import contributor_demote, judgement_weight, recount_enqueue

    done = Counter()
    estimates = reliability_estimates()
    for contributor in Contributor.objects.filter(pk__in=estimates):
        estimate, answered = estimates[contributor.pk]
        before = judgement_weight(contributor)
        contributor.reliability = estimate if answered >= settings.RELIABILITY_MIN_ANSWERS else None
        Contributor.objects.filter(pk=contributor.pk).update(reliability=contributor.reliability)
        done["estimated"] += 1
        if contributor.trust_level == TrustLevel.MODERATOR or contributor.reliability is None:
            continue
        if contributor.votes_counted and estimate < settings.RELIABILITY_DEMOTE_BELOW:
            done["demoted"] += contributor_demote(
                contributor_id=contributor.pk, reason="their estimated reliability is too low"
            )
        elif abs(judgement_weight(contributor) - before) >= settings.RELIABILITY_REWEIGH_DELTA:
            recount_enqueue(contributor.pk)
            done["reweighed"] += 1
    return dict(done)


def estimate_due(count: int) -> bool:
    """Count `count` more judgements; true when that crosses a multiple of the estimate's
    interval (the cache counter is shared by every process)."""
    every = settings.RELIABILITY_ESTIMATE_EVERY
    cache.add(JUDGEMENTS_KEY, 0, timeout=None)
    try:
        total = cache.incr(JUDGEMENTS_KEY, count)
    except ValueError:  # evicted between add and incr
        return False
    return total // every > (total - count) // every
