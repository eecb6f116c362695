from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors.identity import contributor_for_write
from core.api.params import exclude_from_query, exclude_parameter
from core.errors import DomainError
from core.ratelimits import network_key, rate_limit
from labels_app.params import LABEL_PARAMETER, label_from_query
from trust.served import audience_of
from validations.services import (
    GRID_SIZE,
    next_validation_grid,
    next_validation_task,
    validation_skip,
    vote_cast,
    votes_cast_batch,
)

from .serializers import (
    GridSerializer,
    ValidationTaskSerializer,
    VoteBatchInputSerializer,
    VoteInputSerializer,
    VoteSerializer,
)


def votes_response(results, request):
    feedback = {result.vote.pk: result.feedback for result in results if result.feedback}
    votes = [result.vote for result in results]
    return VoteSerializer(votes, many=True, context={"request": request, "feedback": feedback}).data


class NextValidationTask(APIView):
    """The next question for you; never one you answered or skipped."""

    @extend_schema(
        parameters=[LABEL_PARAMETER, exclude_parameter("image_label")],
        responses={200: ValidationTaskSerializer, 204: OpenApiResponse(description="Nothing left")},
    )
    def get(self, request):
        task = next_validation_task(
            contributor=request.contributor,
            label=label_from_query(request),
            exclude=exclude_from_query(request),
            audience=audience_of(request),
        )
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ValidationTaskSerializer(task, context={"request": request}).data)


class ValidationGrid(APIView):
    """Up to 12 questions about one label at once (grid mode)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("label", str, required=True),
            OpenApiParameter(
                "size",
                {"type": "integer", "minimum": 1, "maximum": GRID_SIZE * 2},
                description=f"How many questions, 1–{GRID_SIZE * 2} ({GRID_SIZE} when not given)",
            ),
        ],
        responses=GridSerializer,
    )
    def get(self, request):
        label = label_from_query(request, required=True)
        try:
            size = int(request.query_params.get("size", GRID_SIZE))
        except ValueError:
            size = 0
        if not 1 <= size <= GRID_SIZE * 2:
            raise DomainError(f"size must be between 1 and {GRID_SIZE * 2}.", code="invalid_size")
        tasks = next_validation_grid(
            contributor=request.contributor, label=label, size=size, audience=audience_of(request)
        )
        return Response(
            GridSerializer({"label": label, "tasks": tasks}, context={"request": request}).data
        )


class VoteCreate(APIView):
    """Answer one question: yes, no or unsure."""

    @extend_schema(
        request=VoteInputSerializer,
        responses={
            201: VoteSerializer,
            404: OpenApiResponse(description="No such image-label"),
            409: OpenApiResponse(description="Already answered, decided, or image not public"),
            429: OpenApiResponse(description="Rate limit reached; see Retry-After"),
        },
    )
    def post(self, request):
        serializer = VoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "vote")
        result = vote_cast(
            contributor=contributor_for_write(request),
            image_label_id=serializer.validated_data["image_label"],
            answer=serializer.validated_data["answer"],
            audience=audience_of(request),
            network=network_key(request),
        )
        return Response(votes_response([result], request)[0], status=status.HTTP_201_CREATED)


class VoteBatchCreate(APIView):
    """Answer many questions at once (grid mode): all answers are stored, or none."""

    @extend_schema(request=VoteBatchInputSerializer, responses={201: VoteSerializer(many=True)})
    def post(self, request):
        serializer = VoteBatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "vote")
        results = votes_cast_batch(
            contributor=contributor_for_write(request),
            answers=serializer.validated_data["votes"],
            audience=audience_of(request),
            network=network_key(request),
        )
        return Response(votes_response(results, request), status=status.HTTP_201_CREATED)


class ValidationSkipCreate(APIView):
    """Pass on a question; it is not offered to you again."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request, pk):
        rate_limit(request, "task")
        validation_skip(contributor=contributor_for_write(request), image_label_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
