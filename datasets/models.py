import uuid

from django.db import models
from django.utils import timezone

from .querysets import ExportJobQuerySet, ExportOutlineQuerySet


class ExportJobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """An archive export (image files plus a format's files in one ZIP), built in the
    background into media storage. Jobs asking for the same export of the same data version
    share one archive: `fingerprint` finds it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.CASCADE, related_name="export_jobs"
    )
    params = models.JSONField(help_text="The export request: query, format and options.")
    fingerprint = models.CharField(
        max_length=64, db_index=True, help_text="sha256 of the request and the data version."
    )
    data_version = models.CharField(max_length=80)
    base_url = models.CharField(max_length=200, help_text="Where the site was asked from.")
    state = models.CharField(
        max_length=8, choices=ExportJobState.choices, default=ExportJobState.QUEUED
    )
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    archive = models.CharField(max_length=255, blank=True, help_text="Name in media storage.")
    byte_size = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ExportJobState.values), name="export_job_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(rows_done__lte=models.F("rows_total")),
                name="export_job_progress_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["contributor", "state"], name="export_job_by_contributor"),
        ]

    def __str__(self) -> str:
        return f"{self.params.get('format', '?')} export {self.pk} ({self.state})"

    @property
    def percent(self) -> float:
        if self.state == ExportJobState.DONE:
            return 100.0
        return round(100 * self.rows_done / self.rows_total, 1) if self.rows_total else 0.0

    @property
    def eta_seconds(self) -> int | None:
        """Seconds left at the pace so far (None before there is a pace)."""
        if self.state != ExportJobState.RUNNING or not self.rows_done or not self.started_at:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return round(elapsed / self.rows_done * (self.rows_total - self.rows_done))


class ExportOutline(models.Model):
    """An outline (the current shapes of an image-label's annotation) in the forms exports
    write, worked out once per change rather than on every export: the record's shapes with
    their pixel forms and boxes, and each shape's COCO fields. On PostgreSQL the export's text
    is built by the database (`datasets.database_writers`) and pastes these in."""

    image_label = models.OneToOneField(
        "labels_app.ImageLabel", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    annotation = models.OneToOneField(
        "annotations.Annotation", on_delete=models.CASCADE, related_name="export_outline"
    )
    revision = models.PositiveIntegerField(help_text="The annotation revision these forms are of.")
    # A decided refinement changes the shapes within a revision; the annotation's updated_at
    # changes with every change of its shapes.
    drawn_at = models.DateTimeField(help_text="The annotation's updated_at these forms are of.")
    shapes = models.TextField(help_text="JSON: the shapes, each with pixels, bbox, bbox_pixels.")
    coco = models.TextField(
        help_text="One line per shape: its COCO annotation fields from segmentation on, as JSON "
        "object members (without the braces)."
    )

    objects = ExportOutlineQuerySet.as_manager()

    def __str__(self) -> str:
        return f"export outline of annotation {self.annotation_id} r{self.revision}"


class DatasetRelease(models.Model):
    """A public dump written into media storage (`datasets.dumps`): what the releases page
    lists. The image files' checksums are in the release's SHA256SUMS, not here (a million
    rows of them); `files` holds the data and metadata files."""

    name = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    since = models.CharField(
        max_length=40, blank=True, help_text="The full release an incremental one builds on."
    )
    storage_prefix = models.CharField(max_length=200, help_text="Its folder in media storage.")
    counts = models.JSONField(default=dict, help_text="Records per table, image files.")
    files = models.JSONField(
        default=list, help_text="Its data and metadata files: name, bytes, sha256."
    )
    byte_size = models.PositiveBigIntegerField(default=0, help_text="All files, images included.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_incremental(self) -> bool:
        return bool(self.since)


class ContributorPseudonym(models.Model):
    """The pseudonym a contributor had in the release they were restored from
    (`manage.py dataset_load`): the next dump names them the same without knowing the
    secret of the instance that made it."""

    contributor = models.OneToOneField(
        "contributors.Contributor", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    pseudonym = models.CharField(max_length=32, unique=True)

    def __str__(self) -> str:
        return self.pseudonym


# The statistics snapshot's models live with the statistics code; imported here so Django
# (which loads each app's models module) knows them.
from .statistics.models import (  # noqa: E402, F401
    LabelStatistics,
    StatisticsDay,
    StatisticsSnapshot,
)
