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
