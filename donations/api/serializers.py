from rest_framework import serializers

from donations.models import Image


class ImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "url",
            "status",
            "width",
            "height",
            "media_type",
            "byte_size",
            "sha256",
            "phash",
            "created_at",
            "file_url",
            "preview_url",
            "thumbnail_url",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, image: Image) -> str:
        return self._absolute(image.get_absolute_url())

    def get_file_url(self, image: Image) -> str:
        return self._absolute(image.file_url("full"))

    def get_preview_url(self, image: Image) -> str:
        return self._absolute(image.file_url("large"))

    def get_thumbnail_url(self, image: Image) -> str:
        return self._absolute(image.file_url("small"))


class DonationSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A JPEG, PNG, WebP, HEIC/HEIF or AVIF photo, at most DONATION_MAX_BYTES (30 MB).",
        allow_empty_file=True,
    )
    labels = serializers.ListField(
        child=serializers.CharField(max_length=10_000),
        required=False,
        help_text="Optional: what the photo shows (repeat the field for several labels).",
    )
    cc0 = serializers.BooleanField(
        help_text="Must be true: you own the photo and dedicate it to the public domain (CC0).",
    )


class DonationResultSerializer(ImageSerializer):
    notes = serializers.SerializerMethodField(help_text="What the pipeline changed, if anything.")

    class Meta(ImageSerializer.Meta):
        fields = [*ImageSerializer.Meta.fields, "notes"]
        read_only_fields = fields

    def get_notes(self, image: Image) -> list[str]:
        return list(self.context.get("notes", ()))
