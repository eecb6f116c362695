import uuid

from django.db import models
from django.utils import timezone

from labels_app.models import random_key

from .querysets import AnnotationQuerySet


class ReviewState(models.TextChoices):
    OPEN = "open", "Open for review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ReviewAnswer(models.TextChoices):
    GOOD = "good", "Good"
    BAD = "bad", "Bad"
    UNSURE = "unsure", "Not sure"


class Annotation(models.Model):
    """The shapes outlining one label on one image; every change is a new revision."""

    image_label = models.OneToOneField(
        "labels_app.ImageLabel", on_delete=models.CASCADE, related_name="annotation"
    )
    revision = models.PositiveIntegerField(default=1, help_text="The current revision number.")
    shapes = models.JSONField(help_text="The current revision's shapes (copied for fast reads).")
    coverage = models.FloatField(
        default=0.0,
        help_text="The share of the image the current shapes cover (overlaps not subtracted, "
        "at most 1).",
    )
    author = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="annotations"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    # Review of the current revision, weighted like label votes; a new revision starts afresh.
    good_count = models.PositiveIntegerField(default=0)
    bad_count = models.PositiveIntegerField(default=0)
    unsure_count = models.PositiveIntegerField(default=0)
    counted_votes = models.PositiveIntegerField(default=0)
    evidence = models.FloatField(default=0.0)
    probability = models.FloatField(default=0.5)
    review_state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.OPEN
    )
    in_review = models.BooleanField(default=True)
    gold_answer = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[(ReviewAnswer.GOOD, "Good"), (ReviewAnswer.BAD, "Bad")],
        help_text="Set by a moderator: the known verdict on the current revision, used to "
        "train and check reviewers. A new revision clears it.",
    )
    random_key = models.FloatField(default=random_key, editable=False)
    sort_key = models.FloatField(default=0.0)
    hidden = models.BooleanField(
        default=False,
        help_text="Hidden after reports until a moderator decides: out of the image page, every "
        "task, the API and the exports.",
    )

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(revision__gte=1), name="annotation_revision"),
            models.CheckConstraint(
                condition=models.Q(gold_answer__in=["", ReviewAnswer.GOOD, ReviewAnswer.BAD]),
                name="annotation_gold_answer_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["sort_key"],
                condition=models.Q(in_review=True),
                name="annotation_review_queue",
            ),
            models.Index(
                fields=["random_key"],
                condition=~models.Q(gold_answer=""),
                name="annotation_gold",
            ),
            # The coverage of each outlined image-label from the index alone (the rows carry
            # the shapes): `annotation.coverage` in queries sums it per image.
            models.Index(fields=["image_label", "coverage"], name="annotation_coverage"),
            # The statistics' recount of the last few days reads those days' outlines by this.
            models.Index(fields=["created_at"], name="annotation_created_at"),
        ]

    def __str__(self) -> str:
        return f"annotation of {self.image_label} (r{self.revision})"

    @property
    def is_gold(self) -> bool:
        return bool(self.gold_answer)


class AnnotationRevision(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    shapes = models.JSONField()
    author = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="annotation_revisions"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    restored_from = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set when a moderator restored an older revision."
    )

    class Meta:
        ordering = ["annotation", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "number"], name="annotation_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"r{self.number} of annotation {self.annotation_id}"


class ShapeRefinement(models.Model):
    """One refinement value on one shape of an annotation's current revision.

    Kept in step with `Annotation.shapes` (by annotations.services), so that queries like
    “cars whose colour is red” are an indexed EXISTS instead of a scan of every shapes list.
    """

    # Both foreign keys lead a composite index below (the unique constraint, the value index);
    # separate indexes would only slow down every sync.
    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="refinement_values", db_index=False
    )
    shape_index = models.PositiveSmallIntegerField()
    refinement = models.ForeignKey(
        "labels_app.Label",
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": "refinement"},
        db_index=False,
    )
    value = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "shape_index", "refinement"], name="shape_refinement_once"
            ),
        ]
        indexes = [
            models.Index(fields=["refinement", "value"], name="shape_refinement_value"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.refinement_id}={self.value} on shape {self.shape_index} of {self.annotation_id}"
        )


class TaskMarkKind(models.TextChoices):
    PASSED = "passed", "Passed"
    NOTHING_HERE = "nothing_here", "Nothing to annotate here"
    NOT_ANNOTATABLE = "not_annotatable", "Not annotatable"


class AnnotationTaskMark(models.Model):
    """A contributor's answer to an annotation task other than drawing; never offered again."""

    image_label = models.ForeignKey(
        "labels_app.ImageLabel", on_delete=models.CASCADE, related_name="annotation_marks"
    )
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.CASCADE, related_name="annotation_marks"
    )
    kind = models.CharField(max_length=16, choices=TaskMarkKind.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "image_label"], name="annotation_task_mark_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id} {self.kind} {self.image_label_id}"


class Lease(models.Model):
    """A short exclusive claim on an annotation task; one row per task at most."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image_label = models.OneToOneField(
        "labels_app.ImageLabel", on_delete=models.CASCADE, related_name="annotation_lease"
    )
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.CASCADE, related_name="annotation_leases"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"lease on {self.image_label_id} until {self.expires_at:%H:%M:%S}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()


class AnnotationVote(models.Model):
    """A review of one revision of an annotation: good, bad or not sure."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="votes")
    revision = models.PositiveIntegerField()
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="annotation_votes"
    )
    answer = models.CharField(max_length=8, choices=ReviewAnswer.choices)
    counted = models.BooleanField(default=False)
    weight = models.FloatField(default=0.0)
    on_gold = models.BooleanField(default=False, help_text="A check against a known verdict.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "annotation", "revision"], name="annotation_vote_once"
            ),
            models.CheckConstraint(
                condition=models.Q(answer__in=ReviewAnswer.values),
                name="annotation_vote_answer_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id}: {self.answer} on r{self.revision} of {self.annotation_id}"


class QuestionState(models.TextChoices):
    OPEN = "open", "Open"
    DECIDED = "decided", "Decided"
    UNKNOWN = "unknown", "Nobody could tell"
    STALE = "stale", "Outdated by a new revision"


class RefinementQuestion(models.Model):
    """A quiz question — “what colour is this car?” — about one shape of one revision.

    Asked for every refinement kind the catalog applies to the label that the shape's author
    left empty; the decided value is written into the annotation's current shapes.
    """

    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="refinement_questions"
    )
    revision = models.PositiveIntegerField()
    shape_index = models.PositiveSmallIntegerField()
    refinement = models.ForeignKey(
        "labels_app.Label",
        on_delete=models.PROTECT,
        related_name="refinement_questions",
        limit_choices_to={"kind": "refinement"},
    )
    state = models.CharField(
        max_length=8, choices=QuestionState.choices, default=QuestionState.OPEN
    )
    value = models.CharField(max_length=64, blank=True, help_text="The decided value.")
    answer_count = models.PositiveIntegerField(default=0)
    dont_know_count = models.PositiveIntegerField(default=0)
    in_queue = models.BooleanField(default=True)
    random_key = models.FloatField(default=random_key, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "revision", "shape_index", "refinement"],
                name="refinement_question_once",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=QuestionState.values),
                name="refinement_question_state_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["random_key"],
                condition=models.Q(in_queue=True),
                name="refinement_question_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.refinement_id} of shape {self.shape_index} in {self.annotation_id}"

    @property
    def text(self) -> str:
        """The question in words, e.g. “What colour is this car?”."""
        label = self.annotation.image_label.label.name
        return self.refinement.question.replace("{label}", label)


class RefinementAnswer(models.Model):
    """One contributor's answer to a quiz question; an empty value means “don't know”."""

    question = models.ForeignKey(
        RefinementQuestion, on_delete=models.CASCADE, related_name="answers"
    )
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="refinement_answers"
    )
    value = models.CharField(max_length=64, blank=True)
    counted = models.BooleanField(default=False)
    weight = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "question"], name="refinement_answer_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id}: {self.value or 'don’t know'} on {self.question_id}"
