"""Choosing one row of a task queue at random, at any table size.

No ORDER BY random() and no OFFSET: rows carry a precomputed uniform `random_key`, and queues
ordered by need carry a `sort_key` whose integer part is the rank (fewest answers first) and
whose fraction is random. A random start and one index range scan pick a row; a second scan
wraps round when the start lay past the last key.
"""


def random_first(rows, *, rng):
    """A random row of `rows`: the first at or after a random `random_key`, else the lowest."""
    start = rng.random()
    return (
        rows.filter(random_key__gte=start).order_by("random_key").first()
        or rows.order_by("random_key").first()
    )


def neediest_first(*, queue, candidates, rng):
    """A random row among the most-needed rank of `queue` (by `sort_key`), taken from
    `candidates` (the queue narrowed to what this contributor may get); when none of the rank
    is left for them, the neediest candidate of any rank."""
    lowest = queue.order_by("sort_key").values_list("sort_key", flat=True).first()
    if lowest is None:
        return None
    rank = int(lowest)  # sort keys are never negative
    start = rank + rng.random()
    return (
        candidates.filter(sort_key__gte=start, sort_key__lt=rank + 1).order_by("sort_key").first()
        or candidates.order_by("sort_key").first()
    )
