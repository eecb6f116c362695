"""The statistics API: totals with per-day series, and the per-label figures. Both read the
snapshot datasets.statistics keeps (briefly cached), so they answer in milliseconds at any size."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from datasets.statistics.figures import (
    DEFAULT_DAYS,
    DEFAULT_SORT,
    MAX_DAYS,
    MAX_SEARCH_LENGTH,
    SORTS,
    days_parameter,
    label_statistics,
    search_parameter,
    sort_parameter,
    statistics_series,
    statistics_totals,
)

LABELS_PAGE_SIZE = 100
MAX_PAGE = 10_000


class TotalsSerializer(serializers.Serializer):
    images = serializers.IntegerField(help_text="Public images (unlocked, not hidden)")
    image_labels = serializers.IntegerField(help_text="Labels on public images")
    votes = serializers.IntegerField(help_text="Counted votes on those labels")
    annotations = serializers.IntegerField(help_text="Visible outlines on those labels")
    contributors = serializers.IntegerField(
        help_text="Active contributors: a public contribution in the last 30 days"
    )
    labels = serializers.IntegerField(help_text="Catalog labels on at least one public image")


class DaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A UTC day")
    donations = serializers.IntegerField()
    labels = serializers.IntegerField()
    votes = serializers.IntegerField()
    annotations = serializers.IntegerField()
    contributors = serializers.IntegerField(help_text="Distinct contributors active that day")


class StatisticsSerializer(serializers.Serializer):
    refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the figures were counted (null: not yet)"
    )
    days = serializers.IntegerField()
    totals = TotalsSerializer()
    series = DaySerializer(many=True, help_text="Oldest first, zero on days without activity")


class LabelStatisticsSerializer(serializers.Serializer):
    name = serializers.CharField(source="label.name")
    images = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    rejected = serializers.IntegerField()
    open = serializers.IntegerField()
    annotated = serializers.IntegerField()


class LabelStatisticsPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    refreshed_at = serializers.DateTimeField(allow_null=True)
    results = LabelStatisticsSerializer(many=True)


class StatisticsView(APIView):
    """Totals of the public dataset and what happened per day over the last `days` days."""

    @extend_schema(
        tags=["statistics"],
        parameters=[
            OpenApiParameter(
                "days",
                {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
                description=f"How many days of series, up to today (default {DEFAULT_DAYS})",
            )
        ],
        responses=StatisticsSerializer,
    )
    def get(self, request):
        days = days_parameter(request.query_params.get("days"))
        totals = statistics_totals()
        body = {
            "refreshed_at": totals["refreshed"],
            "days": days,
            "totals": {name: value for name, value in totals.items() if name != "refreshed"}
            or dict.fromkeys(TotalsSerializer().fields, 0),
            "series": statistics_series(days=days),
        }
        return Response(StatisticsSerializer(body).data)


def _page_number(raw: str | None) -> int:
    text = (raw or "").strip()
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= MAX_PAGE:
        raise DomainError(f"page must be a whole number from 1 to {MAX_PAGE}.", code="invalid_page")
    return int(text)


class LabelStatisticsView(APIView):
    """Per label, its public images: how many, confirmed, rejected, open and outlined."""

    @extend_schema(
        tags=["statistics"],
        parameters=[
            OpenApiParameter("sort", str, enum=list(SORTS), default=DEFAULT_SORT),
            OpenApiParameter(
                "q",
                {"type": "string", "maxLength": MAX_SEARCH_LENGTH},
                description="Only labels whose name contains this",
            ),
            OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        ],
        responses=LabelStatisticsPageSerializer,
    )
    def get(self, request):
        params = request.query_params
        sort = sort_parameter(params.get("sort"))
        search = search_parameter(params.get("q"))
        number = _page_number(params.get("page"))
        # First: a recount it may ask for (run at once by an immediate backend) comes before
        # the rows are read, so the page and its `refreshed_at` agree.
        refreshed = statistics_totals()["refreshed"]
        paginator = Paginator(label_statistics(sort=sort, search=search), LABELS_PAGE_SIZE)
        try:
            page = paginator.page(number)
        except (EmptyPage, PageNotAnInteger):
            raise DomainError(
                f"page {number} is past the last page ({paginator.num_pages}).",
                code="invalid_page",
            ) from None

        def link(target: int | None) -> str | None:
            if target is None:
                return None
            query = params.copy()
            query["page"] = str(target)
            return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

        body = {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "next": link(page.next_page_number() if page.has_next() else None),
            "previous": link(page.previous_page_number() if page.has_previous() else None),
            "refreshed_at": refreshed,
            "results": page.object_list,
        }
        return Response(LabelStatisticsPageSerializer(body).data)
