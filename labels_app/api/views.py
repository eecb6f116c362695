import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors.identity import contributor_for_write
from core.api.filters import ShareFilter
from core.api.pagination import CheckedCursorPagination
from core.ratelimits import rate_limit
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel, LabelKind, LabelTerm
from labels_app.services import labelling_skip, labels_add, next_labelling_task

from .serializers import (
    ImageLabelSerializer,
    LabellingResultSerializer,
    LabellingTaskSerializer,
    LabelMatchSerializer,
    LabelsAddSerializer,
)

AUTOCOMPLETE_LIMIT = 10


class LabelSearch(APIView):
    """Autocomplete over label names, plurals and aliases (active object and scene labels)."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="What was typed so far")],
        responses=LabelMatchSerializer(many=True),
    )
    def get(self, request):
        typed = request.query_params.get("q", "")[:64]
        if not typed.strip():
            return Response([])
        terms = (
            LabelTerm.objects.matching_prefix(typed)
            .exclude(label__kind=LabelKind.REFINEMENT)
            .select_related("label")
            .order_by("term")[: AUTOCOMPLETE_LIMIT * 3]
        )
        matches, seen = [], set()
        for term in terms:
            if term.label_id in seen:
                continue
            seen.add(term.label_id)
            label = term.label
            matches.append(
                {
                    "matched": term.display,
                    "name": label.name,
                    "plural": label.plural,
                    "kind": label.kind,
                    "description": label.description,
                }
            )
            if len(matches) == AUTOCOMPLETE_LIMIT:
                break
        return Response(LabelMatchSerializer(matches, many=True).data)


class NextLabellingTask(APIView):
    """A public image that needs labels, never one you labelled or skipped already."""

    @extend_schema(
        responses={200: LabellingTaskSerializer, 204: OpenApiResponse(description="Nothing left")}
    )
    def get(self, request):
        image = next_labelling_task(contributor=request.contributor)
        if image is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        names = list(image.image_labels.standing().values_list("label__name", flat=True))
        return Response(
            LabellingTaskSerializer(
                {"image": image, "labels": names}, context={"request": request}
            ).data
        )


def _labellable_image(request, pk) -> Image:
    return get_object_or_404(Image.objects.visible_to_request(request), pk=pk)


class ImageLabels(APIView):
    """The labels of an image (GET) and adding labels to it (POST)."""

    @extend_schema(responses=ImageLabelSerializer(many=True))
    def get(self, request, pk):
        image = _labellable_image(request, pk)
        labels = image.image_labels.standing().select_related("label").order_by("label__name")
        return Response(ImageLabelSerializer(labels, many=True).data)

    @extend_schema(request=LabelsAddSerializer, responses={201: LabellingResultSerializer})
    def post(self, request, pk):
        image = _labellable_image(request, pk)
        serializer = LabelsAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "label")
        result = labels_add(
            contributor=contributor_for_write(request),
            image=image,
            texts=serializer.validated_data["labels"],
        )
        return Response(LabellingResultSerializer(result).data, status=status.HTTP_201_CREATED)


class LabellingSkip(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, pk):
        image = _labellable_image(request, pk)
        rate_limit(request, "task")
        labelling_skip(contributor=contributor_for_write(request), image=image)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImageLabelFilter(django_filters.FilterSet):
    label = django_filters.CharFilter(field_name="label__name")
    image = django_filters.UUIDFilter(field_name="image_id")
    min_probability = ShareFilter(field_name="probability", lookup_expr="gte")

    class Meta:
        model = ImageLabel
        fields = ["label", "image", "state", "min_probability"]


class ImageLabelPagination(CheckedCursorPagination):
    ordering = ("-id",)


class ImageLabelList(generics.ListAPIView):
    """Image-labels on public images with their consensus; filter by label, state, probability."""

    serializer_class = ImageLabelSerializer
    filterset_class = ImageLabelFilter
    pagination_class = ImageLabelPagination

    def get_queryset(self):
        return ImageLabel.objects.standing().filter(public_q("image__")).select_related("label")
