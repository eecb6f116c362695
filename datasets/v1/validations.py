"""/v1 validation: label questions and answers, through the site's task and vote services (a vote
is taken only on a question the site handed to the client, as everywhere on the site)."""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from core.errors import DomainError
from core.ratelimits import network_key, rate_limit
from datasets.query.compiler import compile_query
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel, ImageLabelState
from validations.services import next_validation_task, vote_cast, votes_cast_batch

from .wire import (
    QUERY_PARAMETERS,
    V1Error,
    V1View,
    audience,
    body_json,
    image_json,
    image_url,
    no_content,
    null,
    pk_of,
    query_text,
    wire_id,
    writer,
)

# What an image "has" for the original's query language: its labels that stand and were not
# rejected by consensus (the original matches every validation, whatever its votes).
STANDING_FACTS = Q(withdrawn=False) & ~Q(state=ImageLabelState.REJECTED)
# The original returns whole lists; here a list stops at this many rows (shuffle=true samples).
LIST_LIMIT = 1000


def public_image_labels():
    return (
        ImageLabel.objects.standing().filter(public_q("image__")).select_related("image", "label")
    )


def compiled(request, *, missing: str):
    """The route's query compiled, or the original's 422s."""
    text = query_text(request)
    if not text:
        raise V1Error(422, missing)
    try:
        return compile_query(text, facts=STANDING_FACTS)
    except DomainError as error:
        raise V1Error(422, error.message) from None


def _task(request, image_label: ImageLabel) -> dict:
    image = image_label.image
    return {
        "image": {
            "uuid": str(image.pk),
            "provider": "donation",
            "unlocked": image.is_public,
            "url": image_url(request, image),
        },
        "label": image_label.label.name,
        "sublabel": "",
        "num_yes": image_label.yes_count,
        "num_no": image_label.no_count,
        "uuid": wire_id("validation", image_label.pk),
    }


def _shown(request, text: str | None) -> ImageLabel:
    pk = pk_of("validation", text or "")
    image_label = public_image_labels().filter(pk=pk).first() if pk is not None else None
    if image_label is None:
        raise V1Error(422, "Couldn't process request - empty result set")
    return image_label


class RandomValidation(V1View):
    @extend_schema(
        summary="The next label question for this client (`?validation_id=` shows one)",
        operation_id="v1_validation_next",
        parameters=[OpenApiParameter("validation_id", str, required=False)],
        responses={
            200: OpenApiResponse(description="{image, label, sublabel, num_yes, num_no, uuid}"),
            422: OpenApiResponse(description="Nothing found"),
        },
    )
    def get(self, request):
        if request.GET.get("validation_id"):
            return Response(_task(request, _shown(request, request.GET["validation_id"])))
        task = next_validation_task(
            contributor=request._request.contributor, audience=audience(request._request)
        )
        if task is None:
            raise V1Error(422, "Couldn't process request - empty result set")
        return Response(_task(request, task))


class ValidationDetail(V1View):
    @extend_schema(
        summary="One label question (shown; answers are taken on questions handed out)",
        responses={200: OpenApiResponse(description="As GET /v1/validation"), 422: None},
    )
    def get(self, request, validation_id):
        return Response(_task(request, _shown(request, validation_id)))


def _vote(request, validation_id: str, answer: str) -> None:
    django_request = request._request
    pk = pk_of("validation", validation_id)
    if pk is None:
        raise V1Error(404, "Couldn't process request - no validation with that id")
    rate_limit(django_request, "vote")
    vote_cast(
        contributor=writer(django_request),
        image_label_id=pk,
        answer=answer,
        audience=audience(django_request),
        network=network_key(django_request),
    )


class ValidationVote(V1View):
    @extend_schema(
        summary="Answer a label question handed to you: yes or no",
        request=None,
        responses={
            200: OpenApiResponse(description="null"),
            404: OpenApiResponse(description="Unknown answer or validation"),
            409: OpenApiResponse(description="Not handed to you, already answered, or decided"),
        },
    )
    def post(self, request, validation_id, answer):
        if answer not in ("yes", "no"):
            raise V1Error(404, None)
        _vote(request, validation_id, answer)
        return null()


class ValidationBatch(V1View):
    @extend_schema(
        summary='Answer many: {"validations": [{"uuid", "valid": "yes"|"no"}]}',
        request={"application/json": {"type": "object"}},
        responses={204: None, 400: OpenApiResponse(description="Malformed body")},
    )
    def patch(self, request):
        invalid = "Couldn't process request - invalid patch"
        body = body_json(request, message=invalid, types=(dict,))
        items = body.get("validations")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise V1Error(400, invalid)
        answers = [
            {"image_label": pk_of("validation", str(item.get("uuid", ""))), "answer": item["valid"]}
            for item in items
            if item.get("valid") in ("yes", "no")  # the original ignores other values
        ]
        if answers:
            django_request = request._request
            rate_limit(django_request, "vote")
            votes_cast_batch(
                contributor=writer(django_request),
                answers=answers,
                audience=audience(django_request),
                network=network_key(django_request),
            )
        return no_content()


class ValidationsByQuery(V1View):
    @extend_schema(
        summary="Label questions on images matching a query",
        parameters=QUERY_PARAMETERS,
        responses={
            200: OpenApiResponse(
                description="[{uuid, num_of_yes, num_of_no, image: {...}, label: {name}}]"
            ),
            422: OpenApiResponse(description="Missing or invalid query"),
        },
    )
    def get(self, request):
        query = compiled(request, missing="please provide a valid query")
        if not query.labels:
            raise V1Error(422, "Couldn't process request - please provide a valid query!")
        rows = public_image_labels().filter(
            STANDING_FACTS, label_id__in=query.labels, image__in=_matching(query)
        )
        rows = rows.order_by("random_key" if request.GET.get("shuffle") == "true" else "pk")
        return Response(
            [
                {
                    "uuid": wire_id("validation", row.pk),
                    "num_of_yes": row.yes_count,
                    "num_of_no": row.no_count,
                    "image": image_json(request, row.image, provider=False),
                    "label": {"name": row.label.name},
                }
                for row in rows[:LIST_LIMIT]
            ]
        )


def _matching(query):
    return Image.objects.public().filter(query.images).values("pk")
