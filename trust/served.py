"""Tasks handed out, remembered briefly, so judgements are accepted only on them.

A client that could vote on any id it read in a listing would choose its targets (pile-ons)
and its gold (answering known items to pass training). So every next-task answer, grid and
preload records which tasks went to whom, and a vote, review or quiz answer on anything else is
refused. Records live in the cache (Redis in the scaled mode, shared by every process) for
TASK_SERVED_SECONDS; nothing is written to the database when a task is only looked at.

Whom a task went to is the most lasting identity the request has: its contributor, else its
account, else its browser (before a first write there is no contributor; the browser key is the
CSRF cookie and network, as for first writes). A judgement is checked against all of them, so a
task seen before one's first write can still be answered right after it.
"""

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token

from contributors.identity import browser_key
from core.errors import DomainError


def contributor_subject(contributor) -> str:
    return f"c:{contributor.pk}"


def audience_of(request) -> tuple[str, ...]:
    """Every identity of the request that a task could have been handed to, most lasting first."""
    request = getattr(request, "_request", request)
    subjects = []
    contributor = getattr(request, "contributor", None)
    if contributor is not None:
        subjects.append(contributor_subject(contributor))
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        subjects.append(f"u:{user.pk}")
    get_token(request)  # a first visit gets its CSRF cookie (the browser key) in this response
    browser = browser_key(request)
    if browser:
        subjects.append(f"b:{browser}")
    return tuple(subjects)


def _key(kind: str, subject: str, task_id: int) -> str:
    return f"trust:served:{kind}:{subject}:{task_id}"


def tasks_serve(
    *, contributor, audience: Sequence[str], kind: str, ids: Iterable[int | None]
) -> None:
    """Remember that these tasks of `kind` went to the request's most lasting identity (the
    contributor when there is no request, as in background work and tests)."""
    subject = audience[0] if audience else contributor and contributor_subject(contributor)
    if not subject:
        return
    cache.set_many(
        {_key(kind, subject, task_id): 1 for task_id in ids if task_id is not None},
        timeout=settings.TASK_SERVED_SECONDS,
    )


def task_served_check(*, contributor, audience: Sequence[str], kind: str, task_id) -> None:
    """Refuse a judgement on a task that was not handed to this contributor (or their browser
    or account, before they had a contributor) within TASK_SERVED_SECONDS."""
    subjects = {contributor_subject(contributor), *audience}
    if any(cache.get_many([_key(kind, subject, task_id) for subject in subjects]).values()):
        return
    raise DomainError(
        "This task was not handed to you, or too long ago: ask for the next one "
        "(answers are taken only on tasks the site gave you).",
        code="not_served",
        status=409,
    )
