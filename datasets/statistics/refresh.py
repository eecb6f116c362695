"""The recount behind every public figure: the snapshot's totals, days and labels, worked out
from the tables in a background task instead of on each page view.

A recount rather than counters kept per event: an image hidden after reports, a revert of a
vandal or a trust recount change many figures at once, in places that announce nothing; a
recount is right whatever changed. What each refresh costs stays small at 1M images
(bench/statistics_page.py):

* per label, one pass over the public image-labels (their own counters, kept by the task
  apps' services: state, counted votes, the annotate queue flag) and one over the outlines;
* the totals come from those, plus an index-only count of the public images;
* the days since the last refresh (and the day before it, for late changes) are recounted
  through created_at indexes. Older days change only when old work changes (an old image
  hidden, a revert); a full recount of every day fixes them once per
  STATISTICS_FULL_RECOUNT_SECONDS (a day by default).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import LabelStatistics, StatisticsDay, StatisticsSnapshot

SERIES = ("donations", "labels", "votes", "annotations")
ACTIVE_DAYS = 30  # "active contributors": someone who contributed within this many days


def public_contributions() -> dict[str, tuple[QuerySet, str]]:
    """Each kind of contribution that counts publicly, with the field naming its contributor:
    donations that are public, labels on public images (not withdrawn by a revert), counted
    votes on those labels, visible outlines on them."""
    from annotations.models import Annotation
    from donations.models import Image
    from donations.querysets import public_q
    from labels_app.models import ImageLabel
    from validations.models import Vote

    return {
        "donations": (Image.objects.public(), "donor_id"),
        "labels": (ImageLabel.objects.standing().filter(public_q("image__")), "added_by_id"),
        "votes": (
            Vote.objects.filter(
                public_q("image_label__image__"), counted=True, image_label__withdrawn=False
            ),
            "contributor_id",
        ),
        "annotations": (
            Annotation.objects.filter(
                public_q("image_label__image__"), hidden=False, image_label__withdrawn=False
            ),
            "author_id",
        ),
    }


def _day() -> TruncDate:
    return TruncDate("created_at", tzinfo=UTC)


def _as_date(value: object) -> date:
    # SQLite hands a truncated date back from a raw cursor as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_count(*, since: date | None = None) -> dict[date, dict[str, int]]:
    """Per UTC day (from `since`, or every day): contributions of each kind, and the distinct
    contributors behind them."""
    sources = {
        name: (queryset.filter(created_at__gte=_midnight(since)) if since else queryset, who)
        for name, (queryset, who) in public_contributions().items()
    }
    days: dict[date, dict[str, int]] = {}

    def figures(day: date) -> dict[str, int]:
        return days.setdefault(day, dict.fromkeys((*SERIES, "contributors"), 0))

    for name, (queryset, _who) in sources.items():
        rows = queryset.annotate(day=_day()).order_by().values("day").annotate(n=Count("pk"))
        for day, count in rows.values_list("day", "n"):
            figures(day)[name] = count
    # UNION (not UNION ALL) leaves one row per day and contributor, whatever they did.
    pairs = [
        queryset.annotate(day=_day(), who=F(who)).order_by().values("day", "who")
        for queryset, who in sources.values()
    ]
    union_sql, params = pairs[0].union(*pairs[1:]).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT day, COUNT(*) FROM ({union_sql}) AS contributions GROUP BY day",  # noqa: S608
            params,
        )
        for day, count in cursor.fetchall():
            figures(_as_date(day))["contributors"] = count
    return days


def active_contributors_count(*, since: datetime) -> int:
    """Contributors with a public contribution of any kind since `since`."""
    people = [
        queryset.filter(created_at__gte=since).annotate(who=F(who)).order_by().values("who")
        for queryset, who in public_contributions().values()
    ]
    return people[0].union(*people[1:]).count()


def labels_count() -> tuple[list[LabelStatistics], int]:
    """Per label, its public image-labels: all, by state, outlined, and waiting for an outline
    (the annotate task's own queue flag); with the counted votes on all of them."""

    queryset, _who = public_contributions()["labels"]
    rows = (
        queryset.order_by()
        .values("label_id")
        .annotate(
            images=Count("pk"),
            confirmed=Count("pk", filter=Q(state="confirmed")),
            rejected=Count("pk", filter=Q(state="rejected")),
            open=Count("pk", filter=Q(state="open")),
            unannotated=Count("pk", filter=Q(needs_annotation=True)),
            votes=Sum("counted_votes"),
        )
    )
    # Outlines are few beside the image-labels: counted on their own, rather than joined into
    # the pass above (an outer join of every image-label, ten times slower on PostgreSQL).
    annotations, _author = public_contributions()["annotations"]
    annotated = dict(
        annotations.order_by()
        .values("image_label__label_id")
        .annotate(n=Count("pk"))
        .values_list("image_label__label_id", "n")
    )
    labels, votes = [], 0
    # A list, not .iterator(): one row per label, and a server-side cursor would make
    # PostgreSQL plan for the first rows (a sorted group walk) instead of one hash pass.
    for row in list(rows):
        votes += row.pop("votes") or 0
        labels.append(LabelStatistics.of_counts(**row, annotated=annotated.get(row["label_id"], 0)))
    return labels, votes


def _recount_since(snapshot: StatisticsSnapshot | None, *, full: bool | None) -> date | None:
    """From which day the days are recounted: None (every day) for a full recount, asked for
    or due; else the day before the last refresh."""
    if full is None:
        due = snapshot is None or (timezone.now() - snapshot.full_recount_at).total_seconds() >= (
            settings.STATISTICS_FULL_RECOUNT_SECONDS
        )
        full = due
    if full or snapshot is None:
        return None
    return snapshot.refreshed_at.astimezone(UTC).date() - timedelta(days=1)


def statistics_refresh(*, full: bool | None = None) -> StatisticsSnapshot:
    """Recount the public figures and replace the snapshot with them, atomically (readers see
    the old figures or the new ones, never a mix); the cached figures go on commit. `full`
    recounts every day (None: when the last full recount is older than
    STATISTICS_FULL_RECOUNT_SECONDS)."""
    from donations.models import Image

    from .figures import statistics_cache_clear

    started = time.perf_counter()
    now = timezone.now()
    snapshot = StatisticsSnapshot.objects.filter(pk=1).first()
    since = _recount_since(snapshot, full=full)
    # Counted before the transaction: the writes below hold their locks for milliseconds, not
    # for the seconds of counting.
    days = days_count(since=since)
    labels, votes = labels_count()
    images = Image.objects.public().count()
    contributors = active_contributors_count(since=now - timedelta(days=ACTIVE_DAYS))
    with transaction.atomic():
        # Two refreshes at once (two task workers) take turns from here, so the second one's
        # deletes see the rows the first one wrote instead of colliding with them.
        list(StatisticsSnapshot.objects.select_for_update().filter(pk=1))
        old_days = StatisticsDay.objects.all()
        (old_days.filter(day__gte=since) if since else old_days).delete()
        StatisticsDay.objects.bulk_create(
            [StatisticsDay(day=day, **figures) for day, figures in sorted(days.items())],
            batch_size=1000,
        )
        LabelStatistics.objects.all().delete()
        LabelStatistics.objects.bulk_create(labels, batch_size=1000)
        snapshot, _created = StatisticsSnapshot.objects.update_or_create(
            pk=1,
            defaults={
                "refreshed_at": now,
                "full_recount_at": now if since is None else snapshot.full_recount_at,
                "took_seconds": round(time.perf_counter() - started, 3),
                "images": images,
                "image_labels": sum(label.images for label in labels),
                "votes": votes,
                "annotations": sum(label.annotated for label in labels),
                "contributors": contributors,
                "labels": len(labels),
            },
        )
        transaction.on_commit(statistics_cache_clear)
    return snapshot


def snapshot_is_stale(refreshed_at: datetime | None) -> bool:
    if refreshed_at is None:
        return True
    age = (timezone.now() - refreshed_at).total_seconds()
    return age >= settings.STATISTICS_REFRESH_SECONDS


def utc_today() -> date:
    return datetime.now(UTC).date()
