"""The statistics pages: figures, per-day charts, the label table and the label graph. Every
figure comes from datasets.statistics (the snapshot, briefly cached); these views only read
request parameters and pick the template."""

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.http import urlencode
from django.views.generic import TemplateView

from core.views import DomainErrorPageMixin

from .statistics.charts import bar_chart
from .statistics.figures import (
    DEFAULT_DAYS,
    DEFAULT_SORT,
    LABEL_COLUMNS,
    MAX_SEARCH_LENGTH,
    days_parameter,
    label_graph,
    label_statistics,
    labels_needing_help,
    search_parameter,
    sort_parameter,
    statistics_series,
    statistics_totals,
)

LABELS_PER_PAGE = 50
DAY_CHOICES = (7, 30, 90, 365)
CHARTS = (
    ("donations", "Donations per day"),
    ("labels", "Labels added per day"),
    ("votes", "Votes per day"),
    ("annotations", "Outlines per day"),
    ("contributors", "Active contributors per day"),
)
COLUMN_NAMES = {
    "name": "Label",
    "images": "Images",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "open": "Open",
    "annotated": "Outlined",
}


def _table_columns(*, sort: str, search: str, days: int) -> list[dict]:
    """Each column's header: its link sorts by it (descending first for numbers, again to
    reverse), and its aria-sort says how the table is sorted now."""
    columns = []
    for column in LABEL_COLUMNS:
        current = sort.lstrip("-") == column
        descending = sort.startswith("-")
        first = column if column == "name" else f"-{column}"
        target = (column if descending else f"-{column}") if current else first
        query = {"sort": target, **({"q": search} if search else {})}
        if days != DEFAULT_DAYS:
            query["days"] = days
        columns.append(
            {
                "name": column,
                "title": COLUMN_NAMES[column],
                "url": f"?{urlencode(query)}#labels",
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return columns


class StatisticsPageView(DomainErrorPageMixin, TemplateView):
    """Totals, per-day charts, the labels that need help and the sortable label table."""

    template_name = "datasets/statistics.html"

    def get_context_data(self, **kwargs):
        params = self.request.GET
        days = days_parameter(params.get("days"))
        sort = sort_parameter(params.get("sort"))
        search = search_parameter(params.get("q"))
        totals = statistics_totals()
        series = statistics_series(days=days)
        page = Paginator(label_statistics(sort=sort, search=search), LABELS_PER_PAGE).get_page(
            params.get("page")
        )
        keep = {"sort": sort, **({"q": search} if search else {})}
        if days != DEFAULT_DAYS:
            keep["days"] = days
        return super().get_context_data(
            totals=totals,
            days=days,
            default_days=DEFAULT_DAYS,
            day_choices=[
                {"days": choice, "url": f"?{urlencode({**keep, 'days': choice})}"}
                for choice in DAY_CHOICES
            ],
            charts=[bar_chart(name=name, title=title, series=series) for name, title in CHARTS],
            help_wanted=labels_needing_help(),
            page=page,
            columns=_table_columns(sort=sort, search=search, days=days),
            sort=sort,
            default_sort=DEFAULT_SORT,
            search=search,
            max_search_length=MAX_SEARCH_LENGTH,
            page_query=urlencode(keep),
            **kwargs,
        )


class LabelGraphPageView(DomainErrorPageMixin, TemplateView):
    """The label hierarchy and each label's "has" parts; ?root=<name> shows one subtree."""

    template_name = "datasets/statistics_graph.html"

    def get_context_data(self, **kwargs):
        root = self.request.GET.get("root", "").strip()[:64].lower()
        refreshed = statistics_totals()["refreshed"]
        rows, ancestors = label_graph(root=root)
        return super().get_context_data(
            rows=rows,
            ancestors=ancestors,
            root=root,
            # The tree's HTML (a thousand labels) is cached per root and per snapshot.
            cache_seconds=settings.STATISTICS_CACHE_SECONDS,
            snapshot=refreshed.isoformat() if refreshed else "",
            **kwargs,
        )
