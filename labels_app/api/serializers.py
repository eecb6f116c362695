from rest_framework import serializers

from donations.api.serializers import ImageSerializer
from labels_app.models import ImageLabel, Label, LabelSuggestion


class LabelSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)

    class Meta:
        model = Label
        fields = ["name", "plural", "description", "kind", "parent", "values"]
        read_only_fields = fields


class LabelMatchSerializer(serializers.Serializer):
    """One autocomplete hit: the word that matched and the label it means."""

    matched = serializers.CharField()
    name = serializers.CharField()
    plural = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()


class ImageLabelSerializer(serializers.ModelSerializer):
    label = serializers.SlugRelatedField(slug_field="name", read_only=True)
    image = serializers.UUIDField(source="image_id", read_only=True)

    class Meta:
        model = ImageLabel
        fields = [
            "id",
            "image",
            "label",
            "state",
            "probability",
            "yes_count",
            "no_count",
            "unsure_count",
            "counted_votes",
            "needs_annotation",
            "created_at",
        ]
        read_only_fields = fields


class LabelsAddSerializer(serializers.Serializer):
    labels = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=10_000),
        allow_empty=True,
        help_text="Words for what the image shows; catalog names, plurals or aliases become "
        "labels, anything else becomes a label suggestion.",
    )


class SuggestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabelSuggestion
        fields = ["text", "term", "use_count", "state"]
        read_only_fields = fields


class LabellingResultSerializer(serializers.Serializer):
    added = ImageLabelSerializer(many=True)
    already_there = ImageLabelSerializer(many=True)
    suggested = SuggestionSerializer(many=True)


class LabellingTaskSerializer(serializers.Serializer):
    image = ImageSerializer()
    labels = serializers.ListField(child=serializers.CharField())
