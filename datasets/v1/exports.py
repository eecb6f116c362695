"""/v1 export and the count statistics the original's Python client reads."""

from collections.abc import Iterator

import orjson
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from annotations.models import Annotation
from core.ratelimits import rate_limit
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel

from .shapes import shape_to_wire
from .validations import STANDING_FACTS, compiled
from .wire import V1Error, V1View

PAGE_SIZE = 500
COUNT_SECONDS = 60


def _export_images(query, *, annotations_only: bool):
    images = Image.objects.public().filter(query.images)
    if annotations_only:
        shown = Annotation.objects.shown().filter(image_label__image=OuterRef("pk"))
        if query.labels:
            shown = shown.filter(image_label__label_id__in=query.labels)
        images = images.filter(Exists(shown))
    return images.order_by("pk")


def _pages(images) -> Iterator[list[tuple]]:
    last = None
    while True:
        page = images if last is None else images.filter(pk__gt=last)
        rows = list(page.values_list("pk", "width", "height")[:PAGE_SIZE])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _items(query, *, annotations_only: bool) -> Iterator[bytes]:
    """The original's export items, a page of images at a time (three queries a page)."""
    for rows in _pages(_export_images(query, annotations_only=annotations_only)):
        ids = [row[0] for row in rows]
        validations: dict = {pk: [] for pk in ids}
        for image_id, name, yes, no in (
            ImageLabel.objects.filter(STANDING_FACTS, image_id__in=ids)
            .order_by("label__name")
            .values_list("image_id", "label__name", "yes_count", "no_count")
        ):
            validations[image_id].append({"label": name, "num_yes": yes, "num_no": no})
        shown = Annotation.objects.shown().filter(
            image_label__image_id__in=ids, image_label__withdrawn=False
        )
        if query.labels:
            shown = shown.filter(image_label__label_id__in=query.labels)
        outlines: dict = {pk: [] for pk in ids}
        sizes = {pk: (width, height) for pk, width, height in rows}
        for image_id, name, shapes in shown.order_by("pk").values_list(
            "image_label__image_id", "image_label__label__name", "shapes"
        ):
            width, height = sizes[image_id]
            outlines[image_id] += [
                {**shape_to_wire(shape, width, height, refinements=False), "label": name}
                for shape in shapes
            ]
        for pk, width, height in rows:
            yield orjson.dumps(
                {
                    "uuid": str(pk),
                    "provider": "donation",
                    "width": width,
                    "height": height,
                    "annotations": outlines[pk],
                    "validations": validations[pk],  # [] at worst, never null (quirk §11.10)
                }
            )


def _array(items: Iterator[bytes]) -> Iterator[bytes]:
    yield b"["
    first = True
    for item in items:
        yield item if first else b"," + item
        first = False
    yield b"]"


class Export(V1View):
    @extend_schema(
        summary="Export images matching a query, in the original's JSON list form",
        parameters=[
            OpenApiParameter("query", str, required=True),
            OpenApiParameter("annotations_only", str, required=False),
        ],
        responses={
            200: OpenApiResponse(
                description="[{uuid, provider, width, height, annotations, validations}]"
            ),
            422: OpenApiResponse(description="No or an invalid query"),
        },
    )
    def get(self, request):
        query = compiled(request, missing="no query specified")
        rate_limit(request._request, "export")
        items = _items(query, annotations_only=request.GET.get("annotations_only") == "true")
        response = StreamingHttpResponse(_array(items), content_type="application/json")
        return response


def _count_parameters(request) -> tuple[float, int]:
    try:
        probability = float(request.GET.get("min_probability", 0) or 0)
    except ValueError:
        probability = None
    if probability is None or not 0 <= probability <= 1:
        raise V1Error(422, "Couldn't process request - invalid 'min_probability' parameter")
    try:
        count = int(request.GET.get("min_count", 0) or 0)
    except ValueError:
        count = -1
    if count < 0:
        raise V1Error(422, "Couldn't process request - invalid 'min_count' parameter")
    return probability, count


def _counts(key: str, rows, min_count: int) -> list[dict]:
    counted = cache.get(key)
    if counted is None:
        counted = [{"label": name, "count": n} for name, n in rows if n > 0]
        cache.set(key, counted, COUNT_SECONDS)
    return [row for row in counted if row["count"] >= min_count]


_COUNT_PARAMETERS = [
    OpenApiParameter(
        "min_probability", {"type": "number", "minimum": 0, "maximum": 1}, required=False
    ),
    OpenApiParameter(
        "min_count", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, required=False
    ),
]


class ValidationCounts(V1View):
    @extend_schema(
        summary="Validations per label on unlocked images with probability ≥ min_probability",
        parameters=_COUNT_PARAMETERS,
        responses={200: OpenApiResponse(description="[{label, count}]"), 422: None},
    )
    def get(self, request):
        probability, min_count = _count_parameters(request)
        rows = (
            ImageLabel.objects.standing()
            .filter(public_q("image__"), probability__gte=probability)
            .values("label__name")
            .annotate(n=Count("pk"))
            .order_by("label__name")
            .values_list("label__name", "n")
        )
        return Response(_counts(f"datasets:v1:counts:labels:{probability}", rows, min_count))


class AnnotationCounts(V1View):
    @extend_schema(
        summary="Annotations per label on unlocked images with probability ≥ min_probability",
        parameters=_COUNT_PARAMETERS,
        responses={200: OpenApiResponse(description="[{label, count}]"), 422: None},
    )
    def get(self, request):
        probability, min_count = _count_parameters(request)
        rows = (
            Annotation.objects.shown()
            .filter(
                public_q("image_label__image__"),
                probability__gte=probability,
            )
            .values("image_label__label__name")
            .annotate(n=Count("pk"))
            .order_by("image_label__label__name")
            .values_list("image_label__label__name", "n")
        )
        return Response(_counts(f"datasets:v1:counts:annotations:{probability}", rows, min_count))
