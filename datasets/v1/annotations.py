"""/v1 annotation: tasks, shapes, revisions, reviews (reference §4.7), through the site's services.

Every rule is the annotations app's: a task is leased before it is drawn (two people never
outline one object at once), only confirmed objects on public images are tasks, a review is
taken only on an annotation the site handed to the client (so nobody picks the targets of a
pile-on), hidden annotations are never shown, and the usual rate limits apply. Shapes travel in
the original's pixel form (datasets.v1.shapes).
"""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from annotations.models import Annotation, AnnotationRevision, TaskMarkKind
from annotations.services import (
    annotation_revise,
    annotation_submit,
    annotation_task_lease,
    annotation_task_lease_for,
    annotation_task_release,
    annotation_vote_cast,
    next_annotation_review,
    refinement_values,
)
from core.errors import DomainError
from core.ratelimits import rate_limit
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel, ImageLabelState, Label, LabelKind

from .catalog import V1Catalog
from .shapes import ShapeInvalid, refinement_ids, shape_to_wire, shapes_from_wire, wire_shapes_check
from .validations import LIST_LIMIT, compiled
from .wire import (
    QUERY_PARAMETERS,
    V1Error,
    V1View,
    audience,
    body_json,
    empty,
    image_json,
    is_uuid,
    null,
    pk_of,
    visible_image,
    wire_id,
    writer,
)

MISSING_RESULT = "Couldn't process request - missing result set"
ANNOTATIONS_MISSING = "invalid request - annotations missing"
ANONYMOUS_SUGGESTION = (
    "Couldn't add annotations - you need to be authenticated to perform this action"
)
REVISION = "Invalid request - please provide a valid revision"
# Go's strconv.ParseInt(rev, 10, 32).
INT32 = range(-(2**31), 2**31)


def _shown():
    """Annotations anyone may see, with what their /v1 form needs."""
    return (
        Annotation.objects.shown()
        .filter(image_label__withdrawn=False)
        .select_related("image_label__image", "image_label__label")
    )


def annotated_image(request, annotation: Annotation, *, shapes=None, revision: int = -1) -> dict:
    """The original's AnnotatedImage. A part ("has" sublabel) is a label of its own here, so
    `validation.sublabel` is empty and `label` is its own name, as in the image's labels."""
    image_label = annotation.image_label
    image = image_label.image
    return {
        "image": image_json(request, image),
        "validation": {"label": image_label.label.name, "sublabel": "", "unlocked": True},
        "uuid": wire_id("annotation", annotation.pk),
        "num_yes": annotation.good_count,
        "num_no": annotation.bad_count,
        "annotations": [
            shape_to_wire(shape, image.width, image.height)
            for shape in (annotation.shapes if shapes is None else shapes)
        ],
        "num_revisions": annotation.revision,
        "revision": revision,
    }


def _task(request, image_label: ImageLabel) -> dict:
    name = image_label.label.name
    return image_json(
        request,
        image_label.image,
        validation={"uuid": wire_id("validation", image_label.pk)},
        label={"label": name, "sublabel": "", "accessor": name},
    )


def _invalid_shapes(error: DomainError) -> V1Error:
    """The site's stricter shape rules, as the original's 422 with the site's reason."""
    return V1Error(422, f"invalid request - annotations invalid: {error.message}")


def _site_shapes(raw: list[dict], image: Image, *, refinements=None) -> list[dict]:
    """The client's pixel shapes as the site's (`refinements`: refinement_ids of the catalog)."""
    if refinements is None:
        refinements = refinement_ids(refinement_values())
    try:
        return shapes_from_wire(raw, image.width, image.height, refinements=refinements)
    except ShapeInvalid as error:
        raise V1Error(422, error.message) from None


def _checked(raw) -> list[dict]:
    try:
        return wire_shapes_check(raw)
    except ShapeInvalid as error:
        raise V1Error(422, error.message) from None


def _text(value) -> bool:
    return value is None or isinstance(value, str)


# ---------------------------------------------------------------------------- tasks


class AnnotationTask(V1View):
    @extend_schema(
        summary="Lease an annotation task (a confirmed object on a public image)",
        description=(
            "A random task, or the task of `validation_id`, or a random one of the label "
            "`label_id`. Taking a task leases it to the client for a few minutes, so nobody "
            "else is handed it meanwhile; while the lease lives the same task comes back. "
            "`add_auto_annotations` is accepted and ignored (there are none here)."
        ),
        parameters=[
            OpenApiParameter("validation_id", str, required=False),
            OpenApiParameter("label_id", str, required=False, description="A label uuid"),
            OpenApiParameter("add_auto_annotations", str, required=False),
        ],
        responses={
            200: OpenApiResponse(
                description="{uuid, unlocked, url, provider, width, height, validation: {uuid}, "
                "label: {label, sublabel, accessor}}"
            ),
            409: OpenApiResponse(description="That task is leased to someone else or done"),
            422: OpenApiResponse(description="No task (`missing result set`) or a bad label_id"),
            429: OpenApiResponse(description="Rate limited"),
        },
    )
    def get(self, request):
        django_request = request._request
        validation_id = request.GET.get("validation_id")
        label_id = request.GET.get("label_id")
        label = None
        if not validation_id and label_id:
            pk = pk_of("label", label_id)
            if pk is None:
                raise V1Error(422, "Couldn't process request - please provide a valid label id")
            label = Label.objects.filter(pk=pk, kind=LabelKind.OBJECT, active=True).first()
            if label is None:
                raise V1Error(422, MISSING_RESULT)
        image_label = None
        if validation_id:
            pk = pk_of("validation", validation_id)
            image_label = (
                ImageLabel.objects.standing()
                .filter(public_q("image__"), pk=pk)
                .select_related("image", "label")
                .first()
                if pk is not None
                else None
            )
            if image_label is None:
                raise V1Error(422, MISSING_RESULT)
        rate_limit(django_request, "task")
        contributor = writer(django_request)
        if image_label is not None:
            lease = annotation_task_lease_for(
                contributor=contributor, image=image_label.image, label_name=image_label.label.name
            )
        else:
            lease = annotation_task_lease(contributor=contributor, label=label)
        if lease is None:
            raise V1Error(422, MISSING_RESULT)
        return Response(_task(request, lease.image_label))


def _target_label(catalog: V1Catalog, name: str, sublabel: str) -> Label | None:
    """The object label an entry outlines: `label`, or its part `sublabel`."""
    if not sublabel:
        return catalog.labels.get(name)
    if sublabel in catalog.parts.get(name, ()):
        return catalog.labels.get(sublabel)
    return None


def _entries(body) -> list[tuple[list, str, str]]:
    """(shapes, label, sublabel) per entry, checked in the original's order: the body's form
    (400), then each entry's shapes (422) and metalabels (400)."""
    if not isinstance(body, list):
        raise V1Error(400, ANNOTATIONS_MISSING)
    entries = []
    for entry in body:
        entry = entry if entry is not None else {}
        if not isinstance(entry, dict):
            raise V1Error(400, ANNOTATIONS_MISSING)
        shapes, label = entry.get("annotations"), entry.get("label")
        sublabel = entry.get("sublabel")
        well_formed = shapes is None or isinstance(shapes, list)
        if not (well_formed and _text(label) and _text(sublabel)):
            raise V1Error(400, ANNOTATIONS_MISSING)
        entries.append((shapes, label or "", sublabel or ""))
    catalog = V1Catalog.current()
    for shapes, label, sublabel in entries:
        _checked(shapes)
        if not sublabel and label in catalog.metalabels:
            raise V1Error(
                400, "Couldn't add annotations - it's not possible to annotate metalabels"
            )
    return entries


class Annotate(V1View):
    @extend_schema(
        summary="Submit shapes for labels of an image (new annotation, or a new revision)",
        description=(
            "Body: `[{annotations: [Shape], label, sublabel}]`, shapes in pixels (reference §5). "
            "Each entry outlines the label (or its part `sublabel`): a task not yet annotated is "
            "leased to the client and submitted; an existing annotation of that image and label "
            "gets a new revision (its review starts afresh). All entries or none are stored."
        ),
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={
            201: OpenApiResponse(
                description="Exactly one new annotation: `null`, `Location: "
                ".../v1/annotation?annotation_id=<id>`"
            ),
            200: OpenApiResponse(description="Anything else: an empty body"),
            400: OpenApiResponse(description="Malformed body, or a metalabel"),
            401: OpenApiResponse(description="A label not in the catalog, anonymously"),
            404: OpenApiResponse(description="No such image"),
            409: OpenApiResponse(description="Leased to someone else, not a task, not public"),
            422: OpenApiResponse(description="Invalid shapes, or a label not in the catalog"),
            429: OpenApiResponse(description="Rate limited"),
        },
    )
    def post(self, request, image_id):
        django_request = request._request
        entries = _entries(body_json(request, message=ANNOTATIONS_MISSING, types=(list,)))
        image = visible_image(request, image_id)
        if image is None:
            raise V1Error(404, "Couldn't add annotations - no image with that id")
        catalog = V1Catalog.current()
        refinements = refinement_ids(refinement_values())
        work = []
        for shapes, name, sublabel in entries:
            label = _target_label(catalog, name, sublabel)
            if label is None:
                if not request.user.is_authenticated:
                    raise V1Error(401, ANONYMOUS_SUGGESTION)
                # The original keeps an "annotation suggestion"; here outlines need a label.
                raise V1Error(
                    422,
                    f"Couldn't add annotations - {(sublabel or name)[:64]!r} is not a label of "
                    "the catalog (only catalog labels can be annotated here)",
                )
            work.append((label, _site_shapes(shapes, image, refinements=refinements)))
        if not work:
            return empty()
        rate_limit(django_request, "annotation", cost=len(work))
        contributor = writer(django_request)
        created = []
        try:
            with transaction.atomic():
                for label, shapes in work:
                    annotation = _annotate(contributor=contributor, image=image, label=label)
                    if annotation is None:
                        lease = annotation_task_lease_for(
                            contributor=contributor, image=image, label_name=label.name
                        )
                        created.append(
                            annotation_submit(
                                contributor=contributor, lease_id=lease.pk, shapes=shapes
                            )
                        )
                    else:
                        # The (image, label) annotation: never another image's (quirk §11.16).
                        annotation_revise(
                            contributor=contributor,
                            annotation_id=annotation.pk,
                            base_revision=annotation.revision,
                            shapes=shapes,
                        )
        except DomainError as error:
            if error.code == "invalid_shape":
                raise _invalid_shapes(error) from None
            raise
        if len(created) == 1:
            response = null(201)
            response["Location"] = request.build_absolute_uri(
                f"/v1/annotation?annotation_id={wire_id('annotation', created[0].pk)}"
            )
            return response
        return empty()


def _annotate(*, contributor, image: Image, label: Label) -> Annotation | None:
    """The existing annotation of this image and label, if any (refused while hidden)."""
    annotation = Annotation.objects.filter(
        image_label__image=image, image_label__label=label
    ).first()
    if annotation is not None and annotation.hidden:
        raise V1Error(
            409,
            "Couldn't add annotations - this annotation is being reviewed by moderators "
            "after reports; try again later",
        )
    return annotation


# ---------------------------------------------------------------------------- reading


def _revision(request) -> int:
    text = request.GET.get("rev", "-1")
    sign = text[:1] in "+-" and len(text) > 1
    digits = text[1:] if sign else text
    if not digits.isascii() or not digits.isdigit() or int(text) not in INT32:
        raise V1Error(422, REVISION)
    return int(text)


class AnnotationRead(V1View):
    @extend_schema(
        summary="One annotation (`annotation_id`, `rev`), or one to review",
        description=(
            "Without `annotation_id`: an annotation for the client to review (not its own, not "
            "reviewed by it yet), handed to it so that its vote "
            "(`POST /v1/annotation/{id}/validate/yes|no`) is taken. Showing one by id hands "
            "nothing out: votes count only on annotations the site chose for the client. "
            "`rev` (default -1, the current shapes) picks a revision, numbered from 1."
        ),
        parameters=[
            OpenApiParameter("annotation_id", str, required=False),
            OpenApiParameter(
                "rev",
                {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
                required=False,
                description="A revision number, or -1 (the default) for the current shapes",
            ),
            OpenApiParameter("auto_generated", str, required=False),
        ],
        responses={
            200: OpenApiResponse(
                description="{image, validation: {label, sublabel, unlocked}, uuid, num_yes, "
                "num_no, annotations: [Shape], num_revisions, revision}"
            ),
            422: OpenApiResponse(description="Nothing found, or a bad rev"),
        },
    )
    def get(self, request):
        revision = _revision(request)
        annotation_id = request.GET.get("annotation_id")
        if request.GET.get("auto_generated") == "true":
            raise V1Error(422, MISSING_RESULT)  # nothing here is drawn by a machine
        if annotation_id:
            pk = pk_of("annotation", annotation_id)
            annotation = _shown().filter(pk=pk).first() if pk is not None else None
        else:
            django_request = request._request
            annotation = next_annotation_review(
                contributor=django_request.contributor, audience=audience(django_request)
            )
        if annotation is None:
            raise V1Error(422, MISSING_RESULT)
        if revision == -1 or revision == annotation.revision:
            return Response(annotated_image(request, annotation, revision=revision))
        old = AnnotationRevision.objects.filter(annotation=annotation, number=revision).first()
        if old is None:
            raise V1Error(422, MISSING_RESULT)
        return Response(annotated_image(request, annotation, shapes=old.shapes, revision=revision))


class ImageAnnotations(V1View):
    @extend_schema(
        summary="All annotations of one image",
        responses={
            200: OpenApiResponse(description="[AnnotatedImage], [] when it has none"),
            422: OpenApiResponse(description="Not an image id, or no visible image"),
        },
    )
    def get(self, request, image_id):
        invalid = V1Error(422, "Couldn't process request - please provide a valid image id")
        if not is_uuid(image_id):
            raise invalid
        visible = Image.objects.visible_to(
            user=request.user, contributor=request._request.contributor
        ).filter(pk=image_id)
        if not visible.exists():
            raise invalid
        annotations = _shown().filter(image_label__image_id=image_id)
        return Response(
            [
                annotated_image(request, annotation)
                for annotation in annotations.order_by("image_label__label__name")
            ]
        )


# ---------------------------------------------------------------------------- changes


class AnnotationRework(V1View):
    @extend_schema(
        summary="Replace an annotation's shapes (a new revision; its review starts afresh)",
        request={"application/json": {"type": "object"}},
        responses={
            201: OpenApiResponse(description="null"),
            400: OpenApiResponse(description="Malformed body"),
            404: OpenApiResponse(description="No such annotation"),
            409: OpenApiResponse(description="Someone saved a revision at the same moment"),
            422: OpenApiResponse(description="Invalid shapes"),
            429: OpenApiResponse(description="Rate limited"),
        },
    )
    def put(self, request, annotation_id):
        body = body_json(request, message=ANNOTATIONS_MISSING, types=(dict,))
        raw = body.get("annotations")
        if not (raw is None or isinstance(raw, list)) or not (
            _text(body.get("label")) and _text(body.get("sublabel"))
        ):
            raise V1Error(400, ANNOTATIONS_MISSING)
        _checked(raw)
        pk = pk_of("annotation", annotation_id)
        annotation = _shown().filter(pk=pk).first() if pk is not None else None
        if annotation is None:
            raise V1Error(404, "Couldn't update annotation - no annotation with that id")
        shapes = _site_shapes(raw, annotation.image_label.image)
        django_request = request._request
        rate_limit(django_request, "annotation")
        try:
            annotation_revise(
                contributor=writer(django_request),
                annotation_id=annotation.pk,
                base_revision=annotation.revision,
                shapes=shapes,
            )
        except DomainError as error:
            if error.code == "invalid_shape":
                raise _invalid_shapes(error) from None
            raise
        return null(201)


def _outlines(annotation: Annotation, label: str, sublabel: str) -> bool:
    """Whether the voter's {label, sublabel} names the annotation's label (the original counts
    a vote only then)."""
    name = annotation.image_label.label.name
    return sublabel == name if sublabel else label == name


class AnnotationVote(V1View):
    @extend_schema(
        summary="Review an annotation handed to you: yes (good) or no (bad)",
        description=(
            "Body `{label, sublabel}`, naming the annotation's label (else nothing is counted, "
            "as in the original). Taken only on an annotation `GET /v1/annotation` handed to "
            "the client, and weighted by the voter's standing like every review on the site."
        ),
        request={"application/json": {"type": "object"}},
        responses={
            200: OpenApiResponse(description="null"),
            400: OpenApiResponse(description="Malformed body, or no label"),
            404: OpenApiResponse(description="Not yes/no (`null`), or no such annotation"),
            409: OpenApiResponse(description="Not handed to you, your own, or already reviewed"),
            429: OpenApiResponse(description="Rate limited"),
        },
    )
    def post(self, request, annotation_id, answer):
        if answer not in ("yes", "no"):
            raise V1Error(404, None)
        invalid = "Couldn't process request - please provide valid label(s)"
        body = body_json(request, message=invalid, types=(dict,))
        label, sublabel = body.get("label"), body.get("sublabel")
        if not (_text(label) and _text(sublabel)):
            raise V1Error(400, invalid)
        if not label and not sublabel:
            raise V1Error(400, "Please provide a valid label")
        pk = pk_of("annotation", annotation_id)
        annotation = _shown().filter(pk=pk).first() if pk is not None else None
        if annotation is None:
            raise V1Error(404, "Couldn't process request - no annotation with that id")
        django_request = request._request
        rate_limit(django_request, "vote")
        if not _outlines(annotation, label or "", sublabel or ""):
            return null()
        annotation_vote_cast(
            contributor=writer(django_request),
            annotation_id=annotation.pk,
            revision=annotation.revision,
            answer="good" if answer == "yes" else "bad",
            audience=audience(django_request),
        )
        return null()


class UnannotatedValidations(V1View):
    @extend_schema(
        summary="Annotation tasks on images matching a query",
        description=(
            "One row per image and matching label still needing an outline (a confirmed object "
            "without an annotation); images without any label, when the query lets them "
            "through, with empty `uuid` and `accessor`. `shuffle=true` orders at random. "
            f"At most {LIST_LIMIT} rows."
        ),
        parameters=QUERY_PARAMETERS,
        responses={
            200: OpenApiResponse(
                description="[{image: {uuid, unlocked, url, width, height}, label: {accessor}, "
                "uuid}] or null"
            ),
            422: OpenApiResponse(description="Missing or invalid query"),
        },
    )
    def get(self, request):
        query = compiled(request, missing="please provide a valid query")
        shuffle = request.GET.get("shuffle") == "true"
        images = Image.objects.public().filter(query.images)
        tasks = ImageLabel.objects.standing().filter(
            needs_annotation=True,
            annotation__isnull=True,
            image__in=images.values("pk"),
            label__kind=LabelKind.OBJECT,
        )
        if query.labels:
            tasks = tasks.filter(label_id__in=query.labels)
        tasks = tasks.select_related("image", "label").order_by("random_key" if shuffle else "pk")
        rows = [
            {
                "image": image_json(request, task.image, provider=False),
                "label": {"accessor": task.label.name},
                "uuid": wire_id("validation", task.pk),
            }
            for task in tasks[:LIST_LIMIT]
        ]
        if not query.labels and len(rows) < LIST_LIMIT:
            standing = ImageLabel.objects.standing().filter(
                ~Q(state=ImageLabelState.REJECTED), image=OuterRef("pk")
            )
            unlabeled = images.filter(~Exists(standing)).order_by("random_key" if shuffle else "pk")
            rows += [
                {
                    "image": image_json(request, image, provider=False),
                    "label": {"accessor": ""},
                    "uuid": "",
                }
                for image in unlabeled[: LIST_LIMIT - len(rows)]
            ]
        return Response(rows or None)


class NotAnnotatable(V1View):
    @extend_schema(
        summary="Mark an annotation task as not annotatable (too small, too many, …)",
        description=(
            "The site's “not annotatable” answer: after a few contributors gave it, the task "
            "retires. The task is leased to the client for this (refused while someone else "
            "holds it); a second mark by the same client changes nothing."
        ),
        request=None,
        responses={
            200: OpenApiResponse(description="null"),
            404: OpenApiResponse(description="No such validation"),
            409: OpenApiResponse(description="Leased to someone else, or no annotation task"),
            429: OpenApiResponse(description="Rate limited"),
        },
    )
    def post(self, request, validation_id):
        pk = pk_of("validation", validation_id)
        image_label = (
            ImageLabel.objects.standing()
            .filter(public_q("image__"), pk=pk)
            .select_related("image", "label")
            .first()
            if pk is not None
            else None
        )
        if image_label is None:
            raise V1Error(
                404, "Couldn't mark validation as not-annotatable - no validation with that id"
            )
        django_request = request._request
        rate_limit(django_request, "task")
        contributor = writer(django_request)
        # A second mark by the same contributor changes nothing (annotation_task_release).
        with transaction.atomic():
            lease = annotation_task_lease_for(
                contributor=contributor,
                image=image_label.image,
                label_name=image_label.label.name,
            )
            annotation_task_release(
                contributor=contributor, lease_id=lease.pk, kind=TaskMarkKind.NOT_ANNOTATABLE
            )
        return null()


urlpatterns = [
    path("annotate", AnnotationTask.as_view(), name="v1-annotate"),
    path("donation/<str:image_id>/annotate", Annotate.as_view(), name="v1-image-annotate"),
    path("annotation", AnnotationRead.as_view(), name="v1-annotation"),
    path("annotation/<str:annotation_id>", AnnotationRework.as_view(), name="v1-annotation-put"),
    path(
        "annotation/<str:annotation_id>/validate/<str:answer>",
        AnnotationVote.as_view(),
        name="v1-annotation-vote",
    ),
    path(
        "donation/<str:image_id>/annotations",
        ImageAnnotations.as_view(),
        name="v1-image-annotations",
    ),
    path(
        "validations/unannotated",
        UnannotatedValidations.as_view(),
        name="v1-validations-unannotated",
    ),
    path(
        "validation/<str:validation_id>/not-annotatable",
        NotAnnotatable.as_view(),
        name="v1-not-annotatable",
    ),
]
