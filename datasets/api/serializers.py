from rest_framework import serializers

from datasets.query.parser import MAX_QUERY_LENGTH
from datasets.services import FORMATS, MAX_COUNT


class ExportJobInputSerializer(serializers.Serializer):
    """What an archive export takes: the parameters of GET /api/exports/ (images are always
    included). Documentation only: datasets.services.export_request_from checks them, one rule
    for both endpoints."""

    query = serializers.CharField(required=False, allow_blank=True, max_length=MAX_QUERY_LENGTH)
    format = serializers.ChoiceField(choices=FORMATS, default="json")
    min_probability = serializers.FloatField(required=False, min_value=0, max_value=1)
    min_votes = serializers.IntegerField(required=False, min_value=0, max_value=MAX_COUNT)
    annotations_only = serializers.BooleanField(required=False)
    include_negatives = serializers.BooleanField(required=False, default=True)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=MAX_COUNT)


class ExportJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    format = serializers.CharField()
    query = serializers.CharField()
    rows_done = serializers.IntegerField(help_text="Images written so far")
    rows_total = serializers.IntegerField(help_text="Images the archive will hold")
    percent = serializers.FloatField()
    eta_seconds = serializers.IntegerField(allow_null=True, help_text="At the pace so far")
    byte_size = serializers.IntegerField()
    error = serializers.CharField(help_text="Why it failed, when it did")
    download_url = serializers.CharField(
        allow_null=True, help_text="When done: a link that works for EXPORT_LINK_SECONDS"
    )
    created_at = serializers.DateTimeField()


class ExportSampleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    thumbnail = serializers.CharField()


class ExportCountSerializer(serializers.Serializer):
    images = serializers.IntegerField()
    image_labels = serializers.IntegerField(help_text="Labels and negatives the export holds")
    samples = ExportSampleSerializer(many=True)
