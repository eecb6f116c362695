"""What the statistics page and API show, read from the latest snapshot (`refresh`) through a
brief cache. Reading never counts the big tables: a stale or missing snapshot asks the
background task for a recount and shows what there is meanwhile."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from core.errors import DomainError

from .models import LabelStatistics, StatisticsDay, StatisticsSnapshot
from .refresh import SERIES, snapshot_is_stale, utc_today

MAX_DAYS = 365
DEFAULT_DAYS = 30
MAX_SEARCH_LENGTH = 64
HELP_LABELS = 10
TOTALS = ("images", "image_labels", "votes", "annotations", "contributors", "labels")
LABEL_COLUMNS = ("name", "images", "confirmed", "rejected", "open", "annotated")
SORTS = tuple(f"{sign}{column}" for column in LABEL_COLUMNS for sign in ("", "-"))
DEFAULT_SORT = "-images"
_KEYS = {name: f"statistics:{name}" for name in ("totals", "days", "help", "graph")}
REFRESH_QUEUED_KEY = "statistics:refresh-queued"


def statistics_cache_clear() -> None:
    """Forget the cached figures (after a refresh commits: the next read sees the new ones)."""
    cache.delete_many(list(_KEYS.values()))


def _cached(name: str, read):
    value = cache.get(_KEYS[name])
    if value is None:
        value = read()
        cache.set(_KEYS[name], value, settings.STATISTICS_CACHE_SECONDS)
    return value


def statistics_refresh_request() -> bool:
    """Ask the background task for a recount, at most once per refresh period across every
    process (cache.add is atomic); True if this call asked."""
    from .tasks import refresh_statistics

    if not cache.add(REFRESH_QUEUED_KEY, True, timeout=settings.STATISTICS_REFRESH_SECONDS):
        return False
    refresh_statistics.enqueue()
    return True


def _totals_read() -> dict:
    snapshot = StatisticsSnapshot.objects.filter(pk=1).first()
    if snapshot is None:
        return {"refreshed": None}
    return {
        "refreshed": snapshot.refreshed_at,
        **{name: getattr(snapshot, name) for name in TOTALS},
    }


def statistics_totals() -> dict:
    """The totals with `refreshed` (when they were counted; None before the first count).
    A stale snapshot asks for a recount; where tasks run at once (the immediate backend of the
    tests) the new figures are read back straight away."""
    totals = _cached("totals", _totals_read)
    if snapshot_is_stale(totals["refreshed"]) and statistics_refresh_request():
        # Where the task already ran, its commit may still be ahead (a request's transaction):
        # forget what this process cached before it, rather than wait for the commit's clear.
        statistics_cache_clear()
        totals = _cached("totals", _totals_read)
    return totals


def days_parameter(raw: str | None, *, default: int = DEFAULT_DAYS) -> int:
    """The `days` of a request: a whole number from 1 to MAX_DAYS (empty means the default)."""
    text = (raw or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 3 or not 1 <= int(text) <= MAX_DAYS:
        raise DomainError(f"days must be a whole number from 1 to {MAX_DAYS}.", code="invalid_days")
    return int(text)


def _days_read() -> dict[str, tuple[int, ...]]:
    since = utc_today() - timedelta(days=MAX_DAYS - 1)
    rows = StatisticsDay.objects.filter(day__gte=since).values_list("day", *SERIES, "contributors")
    return {row[0].isoformat(): tuple(row[1:]) for row in rows}


def statistics_series(*, days: int) -> list[dict]:
    """The last `days` UTC days up to today, oldest first, each with its figures (zero on
    days without any contribution)."""
    known = _cached("days", _days_read)
    today = utc_today()
    empty = (0,) * (len(SERIES) + 1)
    series = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        figures = known.get(day.isoformat(), empty)
        series.append({"day": day, **dict(zip((*SERIES, "contributors"), figures, strict=True))})
    return series


def sort_parameter(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text:
        return DEFAULT_SORT
    if text not in SORTS:
        raise DomainError(f"sort must be one of {', '.join(SORTS)}.", code="invalid_sort")
    return text


def search_parameter(raw: str | None) -> str:
    text = (raw or "").strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise DomainError(f"q takes at most {MAX_SEARCH_LENGTH} characters.", code="invalid_q")
    return text.lower()


def label_statistics(*, sort: str = DEFAULT_SORT, search: str = "") -> QuerySet:
    """Per-label figures in `sort` order (ties by name), with label names containing `search`.
    The table holds one row per label with public images: thousands, not millions."""
    return LabelStatistics.objects.select_related("label").named_like(search).in_order(sort)


@dataclass(frozen=True)
class HelpWanted:
    name: str
    images: int
    open: int
    unannotated: int


def _help_read() -> list[HelpWanted]:
    rows = LabelStatistics.objects.needing_help().select_related("label")[:HELP_LABELS]
    return [
        HelpWanted(
            name=row.label.name,
            images=row.images,
            open=row.open,
            unannotated=row.unannotated,
        )
        for row in rows
    ]


def labels_needing_help() -> list[HelpWanted]:
    """The labels with the most tasks left (open questions plus confirmed objects waiting for
    an outline): many images, little validation or annotation yet."""
    return _cached("help", _help_read)


@dataclass(eq=False)  # one node per label: compared by identity, not field by field
class GraphNode:
    pk: int
    name: str
    kind: str
    parent_id: int | None
    images: int = 0
    # Its line of the tree, written once per cached graph: template tags and filters for each
    # of ~1,000 labels took most of an uncached page's time.
    html: str = ""
    children: list[GraphNode] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    part_of: list[str] = field(default_factory=list)


def _graph_read() -> dict[int, GraphNode]:
    from labels_app.models import Label

    nodes = {
        pk: GraphNode(pk=pk, name=name, kind=kind, parent_id=parent_id)
        for pk, name, kind, parent_id in Label.objects.active()
        .exclude(kind="refinement")
        .order_by("name")
        .values_list("pk", "name", "kind", "parent_id")
    }
    for label_id, images in LabelStatistics.objects.values_list("label_id", "images"):
        if label_id in nodes:
            nodes[label_id].images = images
    parts = Label.parts.through.objects.values_list("from_label_id", "to_label_id")
    for whole, part in parts:
        if whole in nodes and part in nodes:
            nodes[whole].parts.append(nodes[part].name)
            nodes[part].part_of.append(nodes[whole].name)
    gallery = reverse("gallery")
    for node in nodes.values():
        node.parts.sort()
        node.part_of.sort()
        node.html = _node_html(node, gallery=gallery)
        parent = nodes.get(node.parent_id)
        if parent is not None:
            parent.children.append(node)
    return nodes


def _links(names: list[str]) -> SafeString:
    return format_html_join(
        ", ", '<a href="?root={}">{}</a>', ((quote(name, safe=""), name) for name in names)
    )


def _node_html(node: GraphNode, *, gallery: str) -> SafeString:
    """A label's line of the tree: its name (opens its subtree), its public images (open the
    gallery's query for it and all below it), its parts and what it is part of."""
    quoted = quote(node.name, safe="")
    images = f"{node.images:,} image{'' if node.images == 1 else 's'}"
    return format_html(
        '<span class="tree-label"><a class="tree-name" href="?root={}">{}</a>{}'
        '<a class="tree-images" href="{}?q=%27{}%27" aria-label="{} of {} in the gallery">{}</a>'
        "</span>{}{}",
        quoted,
        node.name,
        mark_safe(' <span class="label-state">scene</span> ') if node.kind == "scene" else " ",
        gallery,
        quoted,
        images,
        node.name,
        images,
        format_html('<span class="tree-parts">has {}</span>', _links(node.parts))
        if node.parts
        else "",
        format_html('<span class="tree-parts">part of {}</span>', _links(node.part_of))
        if node.part_of
        else "",
    )


@dataclass(frozen=True)
class GraphRow:
    """One label of the tree in reading order: `depth` below the shown root, whether a nested
    list of its children `opens` after it and how many nested lists it `closes` (so a template
    draws the tree without recursion)."""

    node: GraphNode
    depth: int
    opens: bool
    closes: range


def label_graph(*, root: str = "") -> tuple[list[GraphRow], list[GraphNode]]:
    """The label hierarchy (parents and the "has" parts) in reading order, from the label
    named `root` (its subtree) or from every top label; with the root's ancestors."""
    nodes = _cached("graph", _graph_read)
    if root:
        start = next((node for node in nodes.values() if node.name == root), None)
        if start is None:
            raise DomainError(
                f"There is no label named {root[:64]!r}.", code="unknown_label", status=404
            )
        tops, ancestors = [start], []
        parent = nodes.get(start.parent_id)
        while parent is not None and parent not in ancestors:
            ancestors.insert(0, parent)
            parent = nodes.get(parent.parent_id)
    else:
        # A parent outside the shown kinds (or inactive) makes its children top labels here.
        tops = [node for node in nodes.values() if node.parent_id not in nodes]
        ancestors = []
    order: list[tuple[GraphNode, int]] = []
    seen: set[int] = set()
    stack = [(node, 0) for node in reversed(tops)]
    while stack:
        node, depth = stack.pop()
        if node.pk in seen:  # a cycle in a catalog file must not loop the page
            continue
        seen.add(node.pk)
        order.append((node, depth))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    rows = []
    for index, (node, depth) in enumerate(order):
        following = order[index + 1][1] if index + 1 < len(order) else 0
        rows.append(
            GraphRow(
                node=node,
                depth=depth,
                opens=following > depth,
                closes=range(max(depth - following, 0)),
            )
        )
    return rows, ancestors
