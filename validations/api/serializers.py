from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import IdField
from donations.api.serializers import ImageSerializer
from labels_app.api.serializers import LabelSerializer
from labels_app.models import Answer, ImageLabel
from trust.api.serializers import JudgementSerializer, TrainingFeedbackSerializer
from validations.models import Vote


class ValidationTaskSerializer(serializers.ModelSerializer):
    """One question: does this image show this label?"""

    image_label = serializers.IntegerField(source="pk", read_only=True)
    image = ImageSerializer(read_only=True)
    label = LabelSerializer(read_only=True)
    question = serializers.CharField(read_only=True)

    class Meta:
        model = ImageLabel
        fields = ["image_label", "image", "label", "question"]
        read_only_fields = fields


class ValidationTaskBatchSerializer(serializers.Serializer):
    tasks = ValidationTaskSerializer(many=True)


class GridSerializer(serializers.Serializer):
    label = LabelSerializer()
    tasks = ValidationTaskSerializer(many=True)


class VoteInputSerializer(serializers.Serializer):
    image_label = IdField(help_text="The image_label id of the task")
    answer = serializers.ChoiceField(
        choices=Answer.choices,
        help_text="yes, no or unsure",
        error_messages={"invalid_choice": "Unknown answer '{input}': use 'yes', 'no' or 'unsure'."},
    )


class VoteBatchInputSerializer(serializers.Serializer):
    votes = VoteInputSerializer(many=True, help_text="Up to 50 answers, all stored or none")


class FeedbackSerializer(TrainingFeedbackSerializer):
    expected = serializers.ChoiceField(choices=[Answer.YES, Answer.NO])


class VoteSerializer(JudgementSerializer):
    feedback_class = FeedbackSerializer

    class Meta:
        model = Vote
        # Not whether it counted: on a check it would say which items are checks, and twice
        # in a row it would tell a voter they were demoted.
        fields = ["id", "image_label", "answer", "created_at", "feedback"]
        read_only_fields = fields

    @extend_schema_field(FeedbackSerializer(allow_null=True))
    def get_feedback(self, vote):
        return super().get_feedback(vote)
