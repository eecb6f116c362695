from rest_framework import serializers

from core.api.fields import IdField
from moderation.models import Report, ReportReason

REASON_WORDS = ", ".join(f"'{value}'" for value in ReportReason.values)


class ReportInputSerializer(serializers.Serializer):
    """One of `image` and `annotation` names what is reported."""

    image = serializers.CharField(
        required=False, allow_null=True, default=None, help_text="The id of the image you report"
    )
    annotation = IdField(
        required=False, allow_null=True, default=None, help_text="Or the annotation you report"
    )
    reason = serializers.ChoiceField(
        choices=ReportReason.choices,
        error_messages={
            "invalid_choice": f"Unknown reason '{{input}}': use one of {REASON_WORDS}."
        },
    )
    text = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="What is wrong, in your words (at most 500 characters; needed for 'other')",
        error_messages={"max_length": "The text can be at most 500 characters long."},
    )


class ReportSerializer(serializers.ModelSerializer):
    """What a reporter sees of their report: never its weight, the item's score or who else
    reported."""

    image = serializers.UUIDField(source="case.image_id", read_only=True, allow_null=True)
    annotation = serializers.IntegerField(
        source="case.annotation_id", read_only=True, allow_null=True
    )
    detail = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "image", "annotation", "reason", "text", "created_at", "detail"]
        read_only_fields = fields

    def get_detail(self, report) -> str:
        return f"Thank you: a moderator will look at this {report.case.target_type}."
