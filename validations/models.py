from django.db import models
from django.utils import timezone

from labels_app.models import Answer, ImageLabel

from .querysets import ValidationQuestionQuerySet


class Vote(models.Model):
    """One contributor's answer about one image-label. Never deleted: reverts flip `counted`."""

    image_label = models.ForeignKey(
        "labels_app.ImageLabel", on_delete=models.CASCADE, related_name="votes"
    )
    # Indexed by the unique (contributor, image_label) constraint below.
    contributor = models.ForeignKey(
        "contributors.Contributor",
        on_delete=models.PROTECT,
        related_name="votes",
        db_index=False,
    )
    answer = models.CharField(max_length=8, choices=Answer.choices)
    counted = models.BooleanField(default=False)
    weight = models.FloatField(
        default=0.0, help_text="Evidence this vote adds while counted (0 when not counted)."
    )
    on_gold = models.BooleanField(default=False, help_text="An answer to a gold item.")
    # Where the answer came from (a keyed digest of the voter's network, not the address):
    # only one counted vote per network weighs on an item.
    network = models.CharField(max_length=16, blank=True, default="", editable=False)
    agreed = models.BooleanField(
        null=True,
        blank=True,
        help_text="Whether the answer matches the item's decision (empty until it is decided).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "image_label"], name="vote_once_per_image_label"
            ),
            models.CheckConstraint(
                condition=models.Q(answer__in=Answer.values), name="vote_answer_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(counted=True) | models.Q(weight=0),
                name="vote_weight_only_when_counted",
            ),
        ]
        indexes = [
            models.Index(fields=["contributor", "counted"], name="vote_contributor"),
            models.Index(
                fields=["contributor", "image_label"],
                condition=models.Q(on_gold=True),
                name="vote_gold_by_contributor",
            ),
            # The statistics' recount of the last few days reads those days' votes by this.
            models.Index(fields=["created_at"], name="vote_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id}: {self.answer} on {self.image_label_id}"


class ValidationSkip(models.Model):
    """The contributor chose not to answer; the item is not offered to them again."""

    image_label = models.ForeignKey(
        "labels_app.ImageLabel", on_delete=models.CASCADE, related_name="skips"
    )
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.CASCADE, related_name="validation_skips"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "image_label"], name="validation_skip_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id} skipped {self.image_label_id}"


class ValidationQuestion(ImageLabel):
    """An image-label seen as a question to answer: "does this image show a dog?" The
    validation app's own view of the claim, with the queue and gold queries it needs."""

    objects = ValidationQuestionQuerySet.as_manager()

    class Meta:
        proxy = True
        verbose_name = "validation question"
