from rest_framework import serializers

from moderation.models import Report, ReportReason

REASON_WORDS = ", ".join(f"'{value}'" for value in ReportReason.values)


class ReportInputSerializer(serializers.Serializer):
    image = serializers.CharField(help_text="The id of the image you report")
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

    image = serializers.UUIDField(source="case.image_id", read_only=True)
    detail = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "image", "reason", "text", "created_at", "detail"]
        read_only_fields = fields

    def get_detail(self, report) -> str:
        return "Thank you: a moderator will look at this image."
