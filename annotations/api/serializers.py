from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.models import (
    Annotation,
    AnnotationRevision,
    AnnotationVote,
    Lease,
    RefinementAnswer,
    RefinementQuestion,
    ReviewAnswer,
)
from annotations.shapes import FIELDS, MAX_POLYGON_POINTS, MAX_SHAPES
from core.api.fields import CountField, IdField
from donations.api.serializers import ImageSerializer
from labels_app.api.serializers import LabelSerializer
from trust.api.serializers import JudgementSerializer, TrainingFeedbackSerializer


class LeaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lease
        fields = ["id", "expires_at"]
        read_only_fields = fields


class RefinementSerializer(serializers.Serializer):
    name = serializers.CharField()
    values = serializers.ListField(child=serializers.CharField())


class AnnotationTaskSerializer(serializers.Serializer):
    """A leased task: what to outline, on which image, until when."""

    lease = LeaseSerializer()
    image_label = serializers.IntegerField(source="lease.image_label_id")
    image = ImageSerializer(source="lease.image_label.image")
    label = LabelSerializer(source="lease.image_label.label")
    other_labels = serializers.ListField(child=serializers.CharField())
    refinements = RefinementSerializer(many=True)


class RevisionSerializer(serializers.ModelSerializer):
    author = serializers.IntegerField(source="author_id")

    class Meta:
        model = AnnotationRevision
        fields = ["number", "author", "created_at", "restored_from", "shapes"]
        read_only_fields = fields


class AnnotationSerializer(serializers.ModelSerializer):
    image = serializers.UUIDField(source="image_label.image_id")
    label = serializers.CharField(source="image_label.label.name")
    author = serializers.IntegerField(source="author_id")
    # Shapes are normalised; the stored image's size turns them into pixels.
    image_width = serializers.IntegerField(source="image_label.image.width")
    image_height = serializers.IntegerField(source="image_label.image.height")

    class Meta:
        model = Annotation
        fields = [
            "id",
            "image",
            "image_width",
            "image_height",
            "label",
            "revision",
            "shapes",
            "author",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AnnotationDetailSerializer(AnnotationSerializer):
    revisions = RevisionSerializer(many=True)

    class Meta(AnnotationSerializer.Meta):
        fields = [*AnnotationSerializer.Meta.fields, "revisions"]
        read_only_fields = fields


SHAPES_HELP = (
    "Shapes in [0,1] image coordinates: {type: rect, x, y, width, height} | "
    "{type: ellipse, cx, cy, rx, ry} | {type: polygon, points: [[x, y], ...]} (3–500 points); "
    "optional refinements: {colour: red, ...}. At most 100 shapes."
)


def _fraction() -> dict:
    return {"type": "number", "minimum": 0, "maximum": 1}


def _shape(kind: str, **properties) -> dict:
    return {
        "type": "object",
        "required": ["type", *properties],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string", "enum": [kind]},
            **properties,
            "refinements": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }


SHAPES_SCHEMA = {
    "type": "array",
    "maxItems": MAX_SHAPES,
    "items": {
        "oneOf": [
            _shape("rect", **{name: _fraction() for name in FIELDS["rect"]}),
            _shape("ellipse", **{name: _fraction() for name in FIELDS["ellipse"]}),
            _shape(
                "polygon",
                points={
                    "type": "array",
                    "minItems": 3,
                    "maxItems": MAX_POLYGON_POINTS,
                    "items": {"type": "array", "items": _fraction(), "minItems": 2, "maxItems": 2},
                },
            ),
        ]
    },
}


@extend_schema_field(SHAPES_SCHEMA)
class ShapesField(serializers.JSONField):
    """The shapes of an annotation; checked in detail by annotations.shapes."""


class AnnotationSubmitSerializer(serializers.Serializer):
    lease = serializers.UUIDField()
    shapes = ShapesField(help_text=SHAPES_HELP)


class AnnotationReviseSerializer(serializers.Serializer):
    base_revision = CountField(help_text="The revision you edited")
    shapes = ShapesField(help_text=SHAPES_HELP)


class LeaseForSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    label = serializers.CharField(max_length=64)


class ReviewTaskSerializer(serializers.ModelSerializer):
    """One annotation revision to judge: are all the objects outlined well?"""

    annotation = serializers.IntegerField(source="pk")
    image = ImageSerializer(source="image_label.image")
    label = LabelSerializer(source="image_label.label")
    question = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = ["annotation", "revision", "shapes", "image", "label", "question"]
        read_only_fields = fields

    def get_question(self, annotation) -> str:
        return f"Is every {annotation.image_label.label.name} outlined well?"


class AnnotationVoteInputSerializer(serializers.Serializer):
    annotation = IdField()
    revision = CountField(help_text="The revision you looked at")
    answer = serializers.ChoiceField(
        choices=ReviewAnswer.choices,
        help_text="good, bad or unsure",
        error_messages={
            "invalid_choice": "Unknown answer '{input}': use 'good', 'bad' or 'unsure'."
        },
    )


class ReviewFeedbackSerializer(TrainingFeedbackSerializer):
    expected = serializers.ChoiceField(choices=[ReviewAnswer.GOOD, ReviewAnswer.BAD])


class AnnotationVoteSerializer(JudgementSerializer):
    feedback_class = ReviewFeedbackSerializer

    class Meta:
        model = AnnotationVote
        fields = ["id", "annotation", "revision", "answer", "created_at", "feedback"]
        read_only_fields = fields

    @extend_schema_field(ReviewFeedbackSerializer(allow_null=True))
    def get_feedback(self, vote):
        return super().get_feedback(vote)


class RefinementQuestionSerializer(serializers.ModelSerializer):
    """One quiz question: the shape to look at, the question and the possible answers."""

    question = serializers.CharField(source="text")
    refinement = serializers.CharField(source="refinement.name")
    values = serializers.ListField(child=serializers.CharField(), source="refinement.values")
    label = LabelSerializer(source="annotation.image_label.label")
    image = ImageSerializer(source="annotation.image_label.image")
    shape = serializers.SerializerMethodField()

    class Meta:
        model = RefinementQuestion
        fields = [
            "id",
            "question",
            "refinement",
            "values",
            "label",
            "image",
            "annotation",
            "revision",
            "shape_index",
            "shape",
        ]
        read_only_fields = fields

    def get_shape(self, question) -> dict:
        return question.annotation.shapes[question.shape_index]


class RefinementAnswerInputSerializer(serializers.Serializer):
    question = IdField()
    value = serializers.CharField(
        required=False, max_length=64, help_text="One of the question's values"
    )
    dont_know = serializers.BooleanField(
        default=False, help_text="True instead of a value when you cannot tell"
    )

    def validate(self, data):
        if data["dont_know"] == ("value" in data):
            raise serializers.ValidationError(
                "Give either a value or dont_know: true (exactly one of them)."
            )
        return data


class RefinementAnswerSerializer(serializers.ModelSerializer):
    dont_know = serializers.SerializerMethodField()
    question_state = serializers.CharField(source="question.state")
    decided_value = serializers.CharField(source="question.value")

    class Meta:
        model = RefinementAnswer
        fields = [
            "id",
            "question",
            "value",
            "dont_know",
            "created_at",
            "question_state",
            "decided_value",
        ]
        read_only_fields = fields

    def get_dont_know(self, answer) -> bool:
        return answer.value == ""
