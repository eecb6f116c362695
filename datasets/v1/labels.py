"""/v1 labels: the catalog in the original's shapes, labelling ("labelme") and an image's labels."""

import uuid

from django.core.cache import cache
from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from core.ratelimits import rate_limit
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel, LabelSuggestion, LabelSuggestionUse, SuggestionState
from labels_app.services import labels_add, next_labelling_task

from .catalog import V1Catalog
from .wire import (
    V1Error,
    V1View,
    body_json,
    image_json,
    null,
    visible_image,
    wire_id,
    writer,
)

POPULAR_SECONDS = 300
LABEL_TYPES = ("normal", "refinement", "refinement_category")
LABELS_MISSING = "Couldn't process request - labels missing"
# A stable id for a refinement value (values are strings in the catalog, not rows).
REFINEMENT_VALUE_NAMESPACE = uuid.UUID("5b0c7f0e-61a4-4d2c-9a55-2f0c6c1b7d3e")


def _names(description: str):
    return extend_schema(
        summary=description, responses={200: OpenApiResponse(description=description)}
    )


class LabelList(V1View):
    @extend_schema(
        summary="Label names (`?detailed=true`: the whole label map)",
        parameters=[OpenApiParameter("detailed", str, required=False)],
        responses={200: OpenApiResponse(description="[name] or {name: {...}}")},
    )
    def get(self, request):
        catalog = V1Catalog.current()
        if request.GET.get("detailed") == "true":
            return Response(
                {name: catalog.detailed(label) for name, label in sorted(catalog.labels.items())}
            )
        return Response(sorted(catalog.labels))


class LabelAccessors(V1View):
    @extend_schema(
        summary="Every accessor string of the query language",
        parameters=[
            OpenApiParameter("detailed", str, required=False),
            OpenApiParameter(
                "label_type",
                str,
                required=False,
                enum=["normal", "refinement", "refinement_category"],
            ),
        ],
        responses={
            200: OpenApiResponse(description="[accessor] or [{accessor, parent_accessor}]"),
            422: OpenApiResponse(description="Unknown label_type"),
        },
    )
    def get(self, request):
        rows = V1Catalog.current().all_accessors()
        if request.GET.get("detailed") != "true":
            return Response([row["accessor"] for row in rows] or None)
        label_type = request.GET.get("label_type")
        if label_type is not None:
            if label_type not in LABEL_TYPES:
                raise V1Error(422, "Couldn't process request - invalid label_type")
            rows = [row for row in rows if row["type"] == label_type]
        return Response(
            [
                {"accessor": row["accessor"], "parent_accessor": row["parent_accessor"]}
                for row in rows
            ]
        )


class LabelPlurals(V1View):
    @_names("{name: plural}")
    def get(self, request):
        catalog = V1Catalog.current()
        return Response({name: label.plural for name, label in sorted(catalog.labels.items())})


class LabelRefinements(V1View):
    @_names('{category: {"values": {name: {uuid, description, accessors}}, "uuid", "icon"}}')
    def get(self, request):
        catalog = V1Catalog.current()
        return Response(
            {
                name: {
                    "uuid": wire_id("label", kind.pk),
                    "icon": "",
                    "values": {
                        value: {
                            "uuid": str(uuid.uuid5(REFINEMENT_VALUE_NAMESPACE, f"{name}={value}")),
                            "description": kind.description,
                            "accessors": [f".{name}='{value}'"],
                        }
                        for value in kind.values
                    },
                }
                for name, kind in sorted(catalog.refinements.items())
            }
        )


class LabelPopular(V1View):
    @_names("The 10 most used label names")
    def get(self, request):
        popular = cache.get("datasets:v1:popular")
        if popular is None:
            popular = list(
                ImageLabel.objects.standing()
                .filter(public_q("image__"))
                .values("label__name")
                .annotate(uses=Count("pk"))
                .order_by("-uses", "label__name")
                .values_list("label__name", flat=True)[:10]
            )
            cache.set("datasets:v1:popular", popular, POPULAR_SECONDS)
        return Response(popular)


class LabelSuggestions(V1View):
    @extend_schema(
        summary="Label suggestions (`?include_unlocked=false`: only those still open)",
        parameters=[OpenApiParameter("include_unlocked", str, required=False)],
        responses={200: OpenApiResponse(description="[name]")},
    )
    def get(self, request):
        suggestions = LabelSuggestion.objects.exclude(state=SuggestionState.REJECTED)
        if request.GET.get("include_unlocked") == "false":
            suggestions = suggestions.exclude(state=SuggestionState.ACCEPTED)
        return Response(list(suggestions.order_by("term").values_list("text", flat=True)))


# ---------------------------------------------------------------------------- labelme


def label_entries(image: Image, *, with_suggestions: bool = True) -> list[dict]:
    """The original's LabelMeEntry list for one image: its labels, then its suggestions."""
    entries = [
        {
            "label": name,
            "unlocked": True,
            "annotatable": kind == "object",
            "uuid": wire_id("label", label_id),
            "validation": {"uuid": wire_id("validation", pk), "num_yes": yes, "num_no": no},
            "sublabels": None,
        }
        for pk, label_id, name, kind, yes, no in image.image_labels.standing()
        .order_by("label__name")
        .values_list("pk", "label_id", "label__name", "label__kind", "yes_count", "no_count")
    ]
    if with_suggestions:
        uses = LabelSuggestionUse.objects.filter(image=image).exclude(
            suggestion__state=SuggestionState.REJECTED
        )
        entries += [
            {
                "label": text,
                "unlocked": False,
                "annotatable": False,
                "uuid": wire_id("suggestion", pk),
                "validation": {"uuid": wire_id("suggestion", pk), "num_yes": 0, "num_no": 0},
                "sublabels": None,
            }
            for pk, text in uses.order_by("suggestion__term").values_list(
                "suggestion_id", "suggestion__text"
            )
        ]
    return entries


class LabelMe(V1View):
    @extend_schema(
        summary="An image to label (`?image_id=` for one)",
        parameters=[OpenApiParameter("image_id", str, required=False)],
        responses={
            200: OpenApiResponse(description='{"image": {...}, "all_labels": [...] | null}'),
            422: OpenApiResponse(description="No image"),
        },
    )
    def get(self, request):
        image_id = request.GET.get("image_id")
        if image_id:
            image = visible_image(request, image_id)
        else:
            image = next_labelling_task(contributor=request._request.contributor)
        if image is None:
            raise V1Error(422, "Couldn't process request - empty result set")
        return Response(
            {
                "image": image_json(request, image, descriptions=[]),
                "all_labels": label_entries(image) or None,
            }
        )


def _labelme_texts(body) -> list[tuple[str, list[str]]]:
    missing = V1Error(400, LABELS_MISSING)
    if not isinstance(body, list) or not body:
        raise missing
    entries = []
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("label"), str):
            raise missing
        sublabels = item.get("sublabels") or []
        if not isinstance(sublabels, list) or not all(
            isinstance(sub, dict) and isinstance(sub.get("name"), str) for sub in sublabels
        ):
            raise missing
        entries.append((item["label"], [sub["name"] for sub in sublabels]))
    return entries


class LabelMeAdd(V1View):
    api_token = True

    @extend_schema(
        summary="Add labels to an image: [{label, annotatable, sublabels: [{name}]}]",
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={
            200: OpenApiResponse(description="null"),
            400: OpenApiResponse(description="Malformed body"),
            401: OpenApiResponse(description="Invalid token, or a suggestion anonymously"),
            404: OpenApiResponse(description="No such image"),
        },
    )
    def post(self, request, image_id):
        entries = _labelme_texts(
            body_json(request, message="Couldn't process request - labels missing")
        )
        image = visible_image(request, image_id)
        if image is None:
            raise V1Error(404, "Couldn't process request - no image with that id")
        catalog = V1Catalog.current()
        texts = []
        for name, sublabels in entries:
            known = name in catalog.labels or name in catalog.metalabels
            parts = catalog.parts.get(name, [])
            suggestion = not (known and all(sub in parts for sub in sublabels))
            if suggestion and not request.user.is_authenticated:
                raise V1Error(
                    401,
                    "Couldn't process request - you need to be authenticated to perform "
                    "this action",
                )
            # A sublabel is a label of its own here (the catalog's parts are labels).
            texts += [name, *sublabels]
        django_request = request._request
        rate_limit(django_request, "label")
        labels_add(contributor=writer(django_request), image=image, texts=texts)
        return null()


class ImageLabels(V1View):
    @extend_schema(
        summary="An image's labels (`?only_unlocked_labels=true`: without suggestions)",
        parameters=[OpenApiParameter("only_unlocked_labels", str, required=False)],
        responses={200: OpenApiResponse(description="[LabelMeEntry] or null")},
    )
    def get(self, request, image_id):
        image = visible_image(request, image_id)
        if image is None:
            return null()
        only_labels = request.GET.get("only_unlocked_labels") == "true"
        return Response(label_entries(image, with_suggestions=not only_labels) or None)
