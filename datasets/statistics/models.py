from __future__ import annotations

from django.db import models

from .querysets import LabelStatisticsQuerySet


class StatisticsSnapshot(models.Model):
    """The totals of the latest recount (one row, replaced by each refresh). Public figures:
    only unlocked images and what is on them count."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    refreshed_at = models.DateTimeField()
    full_recount_at = models.DateTimeField(help_text="When every day was last recounted.")
    took_seconds = models.FloatField(help_text="How long the recount took.")
    images = models.PositiveBigIntegerField(help_text="Public images.")
    image_labels = models.PositiveBigIntegerField(help_text="Labels on public images.")
    votes = models.PositiveBigIntegerField(help_text="Counted votes on those labels.")
    annotations = models.PositiveBigIntegerField(help_text="Visible outlines on those labels.")
    contributors = models.PositiveBigIntegerField(
        help_text="Active contributors: with a public contribution in the last 30 days."
    )
    labels = models.PositiveIntegerField(help_text="Catalog labels on at least one public image.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="statistics_snapshot_single"),
        ]

    def __str__(self) -> str:
        return f"statistics of {self.refreshed_at:%Y-%m-%d %H:%M}"


class StatisticsDay(models.Model):
    """What happened on one UTC day, as counted by the latest recount (days without any
    contribution have no row; readers fill them with zeros)."""

    day = models.DateField(primary_key=True)
    donations = models.PositiveIntegerField(default=0)
    labels = models.PositiveIntegerField(default=0)
    votes = models.PositiveIntegerField(default=0)
    annotations = models.PositiveIntegerField(default=0)
    contributors = models.PositiveIntegerField(
        default=0, help_text="Distinct contributors who donated, labelled, voted or outlined."
    )

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"statistics of {self.day}"


class LabelStatistics(models.Model):
    """One label's figures on public images, as counted by the latest recount."""

    label = models.OneToOneField(
        "labels_app.Label", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    images = models.PositiveIntegerField(default=0, help_text="Public images with the label.")
    confirmed = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0, help_text="Still waiting for a decision.")
    annotated = models.PositiveIntegerField(default=0, help_text="With a visible outline.")
    unannotated = models.PositiveIntegerField(
        default=0, help_text="Confirmed object labels still waiting for an outline."
    )
    waiting = models.PositiveIntegerField(
        default=0, help_text="Tasks left: open plus unannotated (how much help it needs)."
    )

    objects = LabelStatisticsQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["-waiting", "-images"],
                condition=models.Q(waiting__gt=0),
                name="label_statistics_waiting",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(waiting=models.F("open") + models.F("unannotated")),
                name="label_statistics_waiting_sum",
            ),
        ]

    def __str__(self) -> str:
        return f"statistics of label {self.label_id}"

    @classmethod
    def of_counts(cls, *, label_id: int, **counts: int) -> LabelStatistics:
        """A label's row from its counts; the tasks it waits for follow from them."""
        return cls(label_id=label_id, **counts, waiting=counts["open"] + counts["unannotated"])
