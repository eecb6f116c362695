import django_filters
from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from contributors.identity import contributor_for_write, refuse_write
from core.api.filters import AwareDateTimeFilter, CountFilter
from core.errors import DomainError
from core.ratelimits import rate_limit
from donations.ingest import upload_read
from donations.models import Image
from donations.services import image_donate

from .serializers import DonationResultSerializer, DonationSerializer, ImageSerializer


class ImageFilter(django_filters.FilterSet):
    min_width = CountFilter(field_name="width", lookup_expr="gte")
    max_width = CountFilter(field_name="width", lookup_expr="lte")
    min_height = CountFilter(field_name="height", lookup_expr="gte")
    max_height = CountFilter(field_name="height", lookup_expr="lte")
    donated_after = AwareDateTimeFilter(field_name="created_at", lookup_expr="gte")
    donated_before = AwareDateTimeFilter(field_name="created_at", lookup_expr="lt")
    media_type = django_filters.ChoiceFilter(
        choices=[("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WebP")]
    )

    class Meta:
        model = Image
        fields = ["min_width", "max_width", "min_height", "max_height", "media_type"]


class ImageList(generics.ListAPIView):
    """Unlocked images, newest first, with cursor pagination."""

    serializer_class = ImageSerializer
    filterset_class = ImageFilter
    queryset = Image.objects.public()


class ImageDetail(generics.RetrieveAPIView):
    """One image: public when unlocked; pending ones only for their donor and moderators."""

    serializer_class = ImageSerializer

    def get_queryset(self):
        return Image.objects.visible_to_request(self.request)


class DonationCreate(generics.GenericAPIView):
    serializer_class = DonationSerializer
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Donate a photo",
        responses={
            201: DonationResultSerializer,
            400: OpenApiResponse(description="Missing CC0 confirmation, corrupt or empty file"),
            409: OpenApiResponse(
                description="The photo is already in the dataset: `image_id`, and `url` when "
                "the existing image is visible to you"
            ),
            413: OpenApiResponse(description="The file is over the size cap"),
            429: OpenApiResponse(description="Rate limit reached; see Retry-After"),
            415: OpenApiResponse(description="Not a JPEG, PNG, WebP, HEIC/HEIF or AVIF photo"),
        },
    )
    def post(self, request):
        refuse_write(request, request.contributor)  # before any costly decoding
        rate_limit(request, "donation")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = upload_read(serializer.validated_data["file"], max_bytes=settings.DONATION_MAX_BYTES)
        try:
            donation = image_donate(
                donor=lambda: contributor_for_write(request),
                data=data,
                cc0_confirmed=serializer.validated_data["cc0"],
                labels=serializer.validated_data.get("labels", ()),
            )
        except DomainError as error:
            if error.code == "duplicate":
                existing = (
                    Image.objects.visible_to_request(request)
                    .filter(pk=error.extra["image_id"])
                    .first()
                )
                if existing is not None:
                    error.extra["url"] = request.build_absolute_uri(existing.get_absolute_url())
            raise
        result = DonationResultSerializer(
            donation.image, context={"request": request, "notes": donation.notes}
        )
        return Response(result.data, status=status.HTTP_201_CREATED)
