"""Recounting a contributor's judgements when whether they count changes.

Each task app registers, in its AppConfig.ready(), a function that makes its own rows of one
contributor counted or not as their standing says (and returns how many it flipped); trust runs
them all in one background task and knows nothing of what they recount."""

from collections.abc import Callable

Recounter = Callable[..., int]
_recounters: dict[str, Recounter] = {}


def recounter_register(name: str, recount: Recounter) -> None:
    """`recount(contributor_id=...)` -> number of judgements flipped."""
    _recounters[name] = recount


def contributor_recount(*, contributor_id: int) -> int:
    """Run every registered recount for one contributor."""
    return sum(recount(contributor_id=contributor_id) for recount in _recounters.values())
