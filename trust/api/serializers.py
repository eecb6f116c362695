from rest_framework import serializers


class TrainingFeedbackSerializer(serializers.Serializer):
    """A trainee's verdict on a gold item: right or not, and the known answer."""

    correct = serializers.BooleanField()
    expected = serializers.CharField()
    training_passed = serializers.BooleanField()


class JudgementSerializer(serializers.ModelSerializer):
    """A stored judgement (label vote, annotation review) with the training feedback the view
    put in the context (`feedback`: judgement id -> feedback)."""

    feedback = serializers.SerializerMethodField(
        help_text="While training, after a gold item: whether the answer was right."
    )
    feedback_class = TrainingFeedbackSerializer

    def get_feedback(self, vote):
        feedback = self.context.get("feedback", {}).get(vote.pk)
        return self.feedback_class(feedback).data if feedback else None
