"""Events one app announces and apps above or beside it listen to, so the announcer never
imports its listeners (DESIGN.md: apps import downward only).

Listeners register in their AppConfig.ready(). `announce` calls them at once, in the caller's
transaction; a service that must announce only what commits wraps it in
`transaction.on_commit`.
"""

from collections import defaultdict
from collections.abc import Callable

_listeners: dict[str, list[Callable[..., None]]] = defaultdict(list)


def listen(event: str, listener: Callable[..., None]) -> None:
    if listener not in _listeners[event]:
        _listeners[event].append(listener)


def announce(event: str, **payload) -> None:
    for listener in _listeners[event]:
        listener(**payload)


def activity_announce(*, kind: str, label_id: int | None) -> None:
    """Something a contributor did, for the public activity feed, once it commits. Only the
    kind and the label travel: the feed never says who, nor which image."""
    from django.db import transaction

    transaction.on_commit(lambda: announce("activity", kind=kind, label_id=label_id))


def decision_announce(
    *, actor, kind: str, target, reason: str = "", before: dict | None = None, after=None
) -> None:
    """A moderation decision made by a task app's service, for the audit trail (moderation
    records it in the caller's transaction). `actor` is the deciding user, None for the site's
    own decisions; `target` the changed object; `before`/`after` the fields it changed."""
    announce(
        "moderation.decided",
        actor=actor,
        kind=kind,
        target=target,
        reason=reason,
        before=before or {},
        after=after or {},
    )
