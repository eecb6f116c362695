"""Keyset pages for HTML lists: newest first by (created_at, id), no COUNT(*) and no OFFSET."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet

from core.params import aware_datetime_or_none


@dataclass(frozen=True)
class KeysetPage:
    items: list
    older: str | None
    newer: str | None


def _cursor(item) -> str:
    return f"{item.created_at.isoformat()}~{item.pk}"


def _parse(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor or len(cursor) > 100:
        return None
    stamp, _, pk = cursor.partition("~")
    moment = aware_datetime_or_none(stamp)
    if moment is None:
        return None
    try:
        return moment, UUID(pk)
    except ValueError:
        return None


def keyset_page(
    queryset: QuerySet, *, before: str | None, after: str | None, size: int
) -> KeysetPage:
    """One page of `queryset`, older than `before` or newer than `after` (bad cursors = first)."""
    newer_bound, older_bound = _parse(after), _parse(before)
    if newer_bound is not None:
        moment, pk = newer_bound
        rows = list(
            queryset.filter(Q(created_at__gt=moment) | Q(created_at=moment, pk__gt=pk)).order_by(
                "created_at", "pk"
            )[: size + 1]
        )
        has_newer = len(rows) > size
        items = list(reversed(rows[:size]))
        has_older = True
    else:
        if older_bound is not None:
            moment, pk = older_bound
            queryset = queryset.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
        rows = list(queryset.order_by("-created_at", "-pk")[: size + 1])
        has_older = len(rows) > size
        items = rows[:size]
        has_newer = older_bound is not None
    return KeysetPage(
        items=items,
        older=_cursor(items[-1]) if items and has_older else None,
        newer=_cursor(items[0]) if items and has_newer else None,
    )
