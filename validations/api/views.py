from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors.identity import contributor_for_write
from core.api.params import exclude_from_query, exclude_parameter
from core.params import count_value
from core.ratelimits import network_key, rate_limit
from labels_app.params import LABEL_PARAMETER, label_from_query
from trust.served import audience_of
from validations.services import (
    GRID_SIZE,
    next_validation_grid,
    next_validation_tasks,
    validation_skip,
    vote_cast,
    votes_cast_batch,
)

from .serializers import (
    GridSerializer,
    ValidationTaskBatchSerializer,
    ValidationTaskSerializer,
    VoteBatchInputSerializer,
    VoteInputSerializer,
    VoteSerializer,
)

# A page preloads one question; a client buffering ahead takes a few, not a queue's worth.
MAX_PREFETCH = 10


def votes_response(results, request):
    feedback = {result.vote.pk: result.feedback for result in results if result.feedback}
    votes = [result.vote for result in results]
    return VoteSerializer(votes, many=True, context={"request": request, "feedback": feedback}).data


class NextValidationTask(APIView):
    """The next question for you; never one you answered or skipped. With `prefetch=N`, the
    next N at once (as `{"tasks": [...]}`, fewer or none when fewer are left)."""

    @extend_schema(
        parameters=[
            LABEL_PARAMETER,
            exclude_parameter("image_label"),
            OpenApiParameter(
                "prefetch",
                {"type": "integer", "minimum": 1, "maximum": MAX_PREFETCH},
                description=f"Hand out the next 1–{MAX_PREFETCH} questions in one response",
            ),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="NextValidation",
                serializers=[ValidationTaskSerializer, ValidationTaskBatchSerializer],
                resource_type_field_name=None,
            ),
            204: OpenApiResponse(description="Nothing left (without prefetch)"),
        },
    )
    def get(self, request):
        prefetch = request.query_params.get("prefetch")
        tasks = next_validation_tasks(
            contributor=request.contributor,
            count=count_value(prefetch, name="prefetch", high=MAX_PREFETCH, default=1),
            label=label_from_query(request),
            exclude=exclude_from_query(request),
            audience=audience_of(request),
        )
        context = {"request": request}
        if prefetch is not None:
            return Response(ValidationTaskBatchSerializer({"tasks": tasks}, context=context).data)
        if not tasks:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ValidationTaskSerializer(tasks[0], context=context).data)


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
        size = count_value(
            request.query_params.get("size"), name="size", high=GRID_SIZE * 2, default=GRID_SIZE
        )
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
