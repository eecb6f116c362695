"""Recounting a contributor's judgements when whether they count changes.

Each task app registers, in its AppConfig.ready(), a function that makes its own rows of one
contributor counted or not as their standing says (and returns how many it flipped); trust runs
them all in one background task and knows nothing of what they recount."""

from collections.abc import Callable

Recounter = Callable[..., int]
_recounters: dict[str, Recounter] = {}


def recounter_register(name: str, recount: Recounter) -> None:
    """`recount(contributor_id=..., progress=None)` -> number of judgements flipped; it calls
    `progress(n)` (when given) as it gets through n more of them."""
    _recounters[name] = recount


def contributor_recount(
    *, contributor_id: int, progress: Callable[[int], None] | None = None
) -> int:
    """Run every registered recount for one contributor."""
    return sum(
        recount(contributor_id=contributor_id, progress=progress)
        for recount in _recounters.values()
    )


# How many judgements a recounter gets through between two progress reports.
PROGRESS_EVERY = 500
