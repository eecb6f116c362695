import uuid

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Annotation, AnnotationRevision, TaskMarkKind
from annotations.services import (
    annotation_lease_renew,
    annotation_revise,
    annotation_submit,
    annotation_task_lease,
    annotation_task_lease_for,
    annotation_task_release,
    annotation_vote_cast,
    next_annotation_review,
    next_refinement_question,
    refinement_answer,
    refinement_choices,
)
from contributors.identity import contributor_for_write
from core.api.pagination import CheckedCursorPagination
from core.api.params import exclude_from_query, exclude_parameter
from core.errors import DomainError
from core.ratelimits import rate_limit
from donations.models import Image
from labels_app.params import LABEL_PARAMETER, label_from_query
from trust.served import audience_of

from .serializers import (
    AnnotationDetailSerializer,
    AnnotationReviseSerializer,
    AnnotationSerializer,
    AnnotationSubmitSerializer,
    AnnotationTaskSerializer,
    AnnotationVoteInputSerializer,
    AnnotationVoteSerializer,
    LeaseForSerializer,
    LeaseSerializer,
    RefinementAnswerInputSerializer,
    RefinementAnswerSerializer,
    RefinementQuestionSerializer,
    ReviewTaskSerializer,
)


def task_payload(lease, request) -> dict:
    image_label = lease.image_label
    others = (
        image_label.image.image_labels.exclude(pk=image_label.pk)
        .filter(state__in=["open", "confirmed"])
        .values_list("label__name", flat=True)
    )
    data = {
        "lease": lease,
        "other_labels": sorted(others),
        "refinements": refinement_choices(image_label.label),
    }
    return AnnotationTaskSerializer(data, context={"request": request}).data


def visible_annotations(request):
    public = Image.objects.visible_to_request(request)
    return Annotation.objects.filter(image_label__image__in=public, hidden=False).select_related(
        "image_label__label", "image_label__image"
    )


class NextAnnotationTask(APIView):
    """Lease the next object to outline (a few minutes, renewable). Taking a task is a write,
    hence POST."""

    @extend_schema(
        parameters=[LABEL_PARAMETER],
        request=None,
        responses={200: AnnotationTaskSerializer, 204: OpenApiResponse(description="Nothing left")},
    )
    def post(self, request):
        label = label_from_query(request)
        rate_limit(request, "task")
        lease = annotation_task_lease(contributor=contributor_for_write(request), label=label)
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(task_payload(lease, request))


class LeaseForImage(APIView):
    """Browse mode: lease the task of one chosen image and label."""

    @extend_schema(
        operation_id="annotations_lease_for_image",
        request=LeaseForSerializer,
        responses=AnnotationTaskSerializer,
    )
    def post(self, request):
        serializer = LeaseForSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = get_object_or_404(
            Image.objects.visible_to_request(request),
            pk=serializer.validated_data["image"],
        )
        rate_limit(request, "task")
        lease = annotation_task_lease_for(
            contributor=contributor_for_write(request),
            image=image,
            label_name=serializer.validated_data["label"],
        )
        return Response(task_payload(lease, request))


class LeaseRenew(APIView):
    @extend_schema(request=None, responses=LeaseSerializer)
    def post(self, request, pk):
        rate_limit(request, "task")
        lease = annotation_lease_renew(contributor=contributor_for_write(request), lease_id=pk)
        return Response(LeaseSerializer(lease).data)


class LeaseRelease(APIView):
    """End a task without drawing: `passed`, `nothing_here` (evidence against the label) or
    `not_annotatable` (too small or too many; the task retires after a few such marks)."""

    @extend_schema(
        operation_id="annotations_lease_release",
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                OpenApiParameter.PATH,
                enum=TaskMarkKind.values,
                description="How the task ends",
            ),
        ],
        request=None,
        responses={204: None},
    )
    def post(self, request, pk, kind):
        rate_limit(request, "task")
        annotation_task_release(contributor=contributor_for_write(request), lease_id=pk, kind=kind)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NewestAnnotationsFirst(CheckedCursorPagination):
    ordering = ("-updated_at", "-id")


class AnnotationCollection(generics.ListAPIView):
    """Annotations on public images, newest first (GET; filter ?label= and ?image=), and the
    first annotation of a leased task (POST)."""

    serializer_class = AnnotationSerializer
    pagination_class = NewestAnnotationsFirst

    @extend_schema(
        parameters=[LABEL_PARAMETER, OpenApiParameter("image", str, description="Image id")]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        annotations = Annotation.objects.shown().select_related(
            "image_label__label", "image_label__image"
        )
        label = label_from_query(self.request)
        if label is not None:
            annotations = annotations.filter(image_label__label=label)
        image = self.request.query_params.get("image")
        if image:
            try:
                annotations = annotations.filter(image_label__image_id=uuid.UUID(image))
            except ValueError:
                raise DomainError("image must be an image id.", code="invalid_image") from None
        return annotations

    @extend_schema(request=AnnotationSubmitSerializer, responses={201: AnnotationSerializer})
    def post(self, request):
        serializer = AnnotationSubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "annotation")
        annotation = annotation_submit(
            contributor=contributor_for_write(request),
            lease_id=serializer.validated_data["lease"],
            shapes=serializer.validated_data["shapes"],
        )
        return Response(AnnotationSerializer(annotation).data, status=status.HTTP_201_CREATED)


class AnnotationDetail(APIView):
    """One annotation with its revision history (GET); rework it as a new revision (PUT)."""

    @extend_schema(responses=AnnotationDetailSerializer)
    def get(self, request, pk):
        annotation = get_object_or_404(
            visible_annotations(request).prefetch_related(
                Prefetch("revisions", AnnotationRevision.objects.order_by("-number"))
            ),
            pk=pk,
        )
        return Response(AnnotationDetailSerializer(annotation).data)

    @extend_schema(
        request=AnnotationReviseSerializer,
        responses={
            200: AnnotationSerializer,
            409: OpenApiResponse(description="Revision conflict"),
        },
    )
    def put(self, request, pk):
        serializer = AnnotationReviseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "annotation")
        annotation = annotation_revise(
            contributor=contributor_for_write(request),
            annotation_id=pk,
            base_revision=serializer.validated_data["base_revision"],
            shapes=serializer.validated_data["shapes"],
        )
        return Response(AnnotationSerializer(annotation).data)


RELEASE_KINDS = "|".join(TaskMarkKind.values)


class NextReview(APIView):
    """An annotation to review (not your own, not reviewed by you yet)."""

    @extend_schema(
        parameters=[exclude_parameter("annotation")],
        responses={200: ReviewTaskSerializer, 204: OpenApiResponse(description="Nothing left")},
    )
    def get(self, request):
        annotation = next_annotation_review(
            contributor=request.contributor,
            exclude=exclude_from_query(request),
            audience=audience_of(request),
        )
        if annotation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ReviewTaskSerializer(annotation, context={"request": request}).data)


class AnnotationVoteCreate(APIView):
    """Review an annotation revision: good, bad or unsure (weighted like label votes)."""

    @extend_schema(
        request=AnnotationVoteInputSerializer,
        responses={
            201: AnnotationVoteSerializer,
            409: OpenApiResponse(
                description="Your own drawing, already reviewed by you, or the annotation "
                "changed (`current_revision`)"
            ),
        },
    )
    def post(self, request):
        serializer = AnnotationVoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "vote")
        data = serializer.validated_data
        result = annotation_vote_cast(
            contributor=contributor_for_write(request),
            annotation_id=data["annotation"],
            revision=data["revision"],
            answer=data["answer"],
            audience=audience_of(request),
        )
        serializer = AnnotationVoteSerializer(
            result.vote, context={"feedback": {result.vote.pk: result.feedback}}
        )
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class NextRefinementQuestion(APIView):
    """A quiz question about one shape (“What colour is this car?”), not answered by you yet."""

    @extend_schema(
        parameters=[exclude_parameter("question")],
        responses={
            200: RefinementQuestionSerializer,
            204: OpenApiResponse(description="Nothing left"),
        },
    )
    def get(self, request):
        question = next_refinement_question(
            contributor=request.contributor,
            exclude=exclude_from_query(request),
            audience=audience_of(request),
        )
        if question is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(RefinementQuestionSerializer(question, context={"request": request}).data)


class RefinementAnswerCreate(APIView):
    """Answer a quiz question with one of its values, or `dont_know: true`. Weighted like label
    votes; once enough answers agree the value is written into the shape's refinements."""

    @extend_schema(
        request=RefinementAnswerInputSerializer, responses={201: RefinementAnswerSerializer}
    )
    def post(self, request):
        serializer = RefinementAnswerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "vote")
        data = serializer.validated_data
        answer = refinement_answer(
            contributor=contributor_for_write(request),
            question_id=data["question"],
            value=None if data["dont_know"] else data["value"],
            audience=audience_of(request),
        )
        return Response(RefinementAnswerSerializer(answer).data, status=status.HTTP_201_CREATED)
