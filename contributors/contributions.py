"""What a contributor has done, as the task apps count it.

Contributors sit below the task apps and must not import them, so each task app registers a
counter here from its AppConfig.ready() and the profile asks this registry. The counts come from
the contribution rows themselves, so work merged in from an anonymous identity is included.
"""

from collections.abc import Callable
from dataclasses import dataclass

from .models import Contributor


@dataclass(frozen=True)
class ContributionCount:
    key: str
    title: str
    count: int
    url_name: str = ""


@dataclass(frozen=True)
class _Counter:
    title: str
    count: Callable[[Contributor], int]
    url_name: str


_counters: dict[str, _Counter] = {}


def contribution_counter_register(
    *, key: str, title: str, count: Callable[[Contributor], int], url_name: str = ""
) -> None:
    """Add (or replace) one kind of contribution; `url_name` links the number to a page."""
    _counters[key] = _Counter(title=title, count=count, url_name=url_name)


def contribution_counts(contributor: Contributor | None) -> list[ContributionCount]:
    """Every registered kind of contribution with this contributor's count, in registration
    order (the order of INSTALLED_APPS)."""
    return [
        ContributionCount(
            key=key,
            title=counter.title,
            count=counter.count(contributor) if contributor is not None else 0,
            url_name=counter.url_name,
        )
        for key, counter in _counters.items()
    ]
