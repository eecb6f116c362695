"""/v1 donations: upload, image bytes (with resizing from the stored previews), details."""

import io

from django.conf import settings
from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from PIL import Image as PillowImage
from rest_framework.response import Response

from contributors.identity import refuse_write
from core.errors import DomainError
from core.ratelimits import rate_limit
from donations.ingest import upload_read
from donations.models import Image
from donations.services import image_donate
from labels_app.models import LabelKind, LabelTerm
from labels_app.terms import term_normalise

from .wire import (
    V1Error,
    V1View,
    is_uuid,
    visible_image,
    writer,
)

# A size to resize to; anything unparsable counts as 0 (not given), as in the original.
SIDE_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 100_000}
# The original's messages for what its ingest refuses (reference §4.1), by the site's codes.
DONATION_ERRORS = {
    "empty_file": (422, "Unable to detect MIME type"),
    "unsupported_format": (422, "Unsopported MIME type detected"),
    "duplicate": (409, "Couldn't add photo - image already exists"),
}


def _productive(name: str) -> bool:
    """A label the catalog knows (an object or scene label; refinements are not labels)."""
    return (
        LabelTerm.objects.filter(term=term_normalise(name), label__active=True)
        .exclude(label__kind=LabelKind.REFINEMENT)
        .exists()
    )


class Donate(V1View):
    api_token = True

    @extend_schema(
        summary="Donate a photo (multipart `image`, optional `label`)",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "label": {"type": "string"},
                },
                "required": ["image"],
            }
        },
        responses={
            200: OpenApiResponse(description='{"uuid": "<image uuid>"}'),
            400: OpenApiResponse(description='{"error": "Picture is missing"}'),
            401: OpenApiResponse(description="Invalid token, or a non-catalog label anonymously"),
            409: OpenApiResponse(description="The photo is already in the dataset"),
            422: OpenApiResponse(description="Not an image the site takes"),
        },
    )
    def post(self, request):
        django_request = request._request
        refuse_write(django_request, django_request.contributor)
        upload = django_request.FILES.get("image")
        if upload is None:
            raise V1Error(400, "Picture is missing")
        label = django_request.POST.get("label", "").strip()
        if label and not _productive(label) and not request.user.is_authenticated:
            raise V1Error(401, "Authentication required")
        rate_limit(django_request, "donation")
        try:
            data = upload_read(upload, max_bytes=settings.DONATION_MAX_BYTES)
            donation = image_donate(
                donor=lambda: writer(django_request),
                data=data,
                # Donating through this API is the CC0 dedication, as it was on the original,
                # whose terms made every donation public domain (README, /v1).
                cc0_confirmed=True,
                labels=[label] if label else (),
            )
        except DomainError as error:
            if error.code in DONATION_ERRORS:
                raise V1Error(*DONATION_ERRORS[error.code]) from None
            raise
        return Response({"uuid": str(donation.image.pk)})


def _resized(image: Image, width: int, height: int) -> HttpResponse | None:
    """The image at width × height (one of them 0: scaled to keep the aspect ratio), from the
    smallest stored file at least that large; None when that is the original size or larger
    (nothing is upscaled)."""
    if width and not height:
        height = round(image.height * width / image.width)
    elif height and not width:
        width = round(image.width * height / image.height)
    width, height = max(1, width), max(1, height)
    if width >= image.width and height >= image.height:
        return None
    side = max(width, height)
    sources = [
        (size, stored)
        for size, stored in zip(
            settings.DONATION_THUMBNAIL_SIZES,
            (image.thumbnail_small, image.thumbnail_large),
            strict=False,
        )
        if stored.name and size >= side and size < max(image.width, image.height)
    ]
    stored = sources[0][1] if sources else image.file
    with stored.open("rb") as handle, PillowImage.open(handle) as source:
        picture = source.convert("RGB").resize((width, height), PillowImage.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=settings.DONATION_JPEG_QUALITY)
    response = HttpResponse(out.getvalue(), content_type="image/jpeg")
    response["Cache-Control"] = "public,s-maxage=5260000,max-age=604800"
    return response


def _dimension(raw: str | None) -> int:
    """The original reads unparsable sizes as 0 (not given)."""
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


class DonationFile(V1View):
    """The image bytes of an unlocked image; `width`/`height` resize (never upscale)."""

    @extend_schema(
        summary="Image bytes of an unlocked image",
        parameters=[
            OpenApiParameter("width", SIDE_SCHEMA, required=False),
            OpenApiParameter("height", SIDE_SCHEMA, required=False),
        ],
        responses={
            (200, "image/*"): OpenApiResponse(description="The stored image, or resized JPEG"),
            (404, "text/plain"): OpenApiResponse(description="Invalid id, or not unlocked"),
        },
    )
    def get(self, request, image_id):
        if not is_uuid(image_id):
            raise V1Error(404, "Invalid filename", plain=True)
        image = Image.objects.public().filter(pk=image_id).first()
        if image is None or not image.file.name:
            raise V1Error(
                404, "Couldn't access image, as image is still in locked mode", plain=True
            )
        width, height = _dimension(request.GET.get("width")), _dimension(request.GET.get("height"))
        if width or height:
            resized = _resized(image, width, height)
            if resized is not None:
                return resized
        response = FileResponse(image.file.open("rb"), content_type=image.media_type)
        response["Cache-Control"] = "public,s-maxage=5260000,max-age=604800"
        return response


class ImageDetails(V1View):
    @extend_schema(
        summary="Width, height and whether the image is unlocked",
        responses={
            200: OpenApiResponse(description='{"width": int, "height": int, "unlocked": bool}'),
            401: OpenApiResponse(description='{"error": "No image with that id found"}'),
        },
    )
    def get(self, request, image_id):
        image = visible_image(request, image_id)
        if image is None:
            raise V1Error(401, "No image with that id found")
        return Response({"width": image.width, "height": image.height, "unlocked": image.is_public})
