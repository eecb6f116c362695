from django.conf import settings
from django.db import models
from django.utils import timezone

from .querysets import ImageLabelQuerySet, LabelQuerySet, LabelTermQuerySet


class LabelKind(models.TextChoices):
    OBJECT = "object", "Object"
    SCENE = "scene", "Scene"
    REFINEMENT = "refinement", "Refinement"


class LabelOrigin(models.TextChoices):
    CATALOG = "catalog", "Catalog file"
    SUGGESTION = "suggestion", "Accepted suggestion"


class Label(models.Model):
    """A catalog entry, defined in labels_app/catalog/ and loaded by `manage.py sync_labels`.

    Labels a moderator accepts from contributors' suggestions have origin "suggestion": the
    sync leaves them alone until a catalog file defines the same name (then the file wins).
    """

    name = models.CharField(max_length=64, unique=True)
    plural = models.CharField(max_length=64)
    description = models.CharField(max_length=300)
    kind = models.CharField(max_length=16, choices=LabelKind.choices, default=LabelKind.OBJECT)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    parts = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="part_of", help_text="“has” parts"
    )
    values = models.JSONField(
        default=list, blank=True, help_text="The allowed values of a refinement."
    )
    question = models.CharField(
        max_length=120, blank=True, help_text="A refinement's quiz question, with {label}."
    )
    applies_to = models.JSONField(
        default=list,
        blank=True,
        help_text="Groups or object labels (with all below them) a refinement describes; * = all.",
    )
    group = models.CharField(max_length=64, help_text="The catalog file this label comes from.")
    active = models.BooleanField(
        default=True, help_text="Inactive labels left the catalog; their data is kept."
    )
    origin = models.CharField(
        max_length=16, choices=LabelOrigin.choices, default=LabelOrigin.CATALOG
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LabelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=LabelKind.values), name="label_kind_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("pk")), name="label_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TermKind(models.TextChoices):
    NAME = "name", "Name"
    PLURAL = "plural", "Plural"
    ALIAS = "alias", "Alias"


class LabelTerm(models.Model):
    """Every word that means a label (name, plural, alias), normalised, for lookup and search."""

    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=80, unique=True)
    display = models.CharField(max_length=80)
    kind = models.CharField(max_length=8, choices=TermKind.choices)
    from_catalog = models.BooleanField(
        default=True, help_text="False for aliases accepted from suggestions (kept by syncs)."
    )

    objects = LabelTermQuerySet.as_manager()

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.display} → {self.label_id}"


class ImageLabelState(models.TextChoices):
    OPEN = "open", "Open for validation"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class GoldPool(models.TextChoices):
    TRAINING = "training", "Training (with feedback)"
    HIDDEN = "hidden", "Hidden check (no feedback)"
    RETIRED = "retired", "Retired (its answer was shown to enough trainees)"


class Answer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNSURE = "unsure", "Not sure"


def random_key() -> float:
    import random

    # Not security relevant: spreads voters over the queue without ORDER BY random().
    return random.random()  # noqa: S311


class ImageLabel(models.Model):
    """The claim “this image shows this label”, with the crowd's consensus about it."""

    # Both foreign keys are covered by the composite indexes below; separate indexes would
    # only slow down every vote's update.
    image = models.ForeignKey(
        "donations.Image", on_delete=models.CASCADE, related_name="image_labels", db_index=False
    )
    label = models.ForeignKey(
        Label, on_delete=models.PROTECT, related_name="image_labels", db_index=False
    )
    added_by = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="labels_added"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Raw answers, counted or not (the plain-majority view).
    yes_count = models.PositiveIntegerField(default=0)
    no_count = models.PositiveIntegerField(default=0)
    unsure_count = models.PositiveIntegerField(default=0)
    # Trust-weighted view: counted votes only.
    counted_votes = models.PositiveIntegerField(default=0)
    evidence = models.FloatField(default=0.0, help_text="Sum of ± weights of counted votes.")
    # The part of the evidence from established sources (identities older than
    # CONSENSUS_ESTABLISHED_DAYS, moderators): a cohort of new identities cannot decide alone.
    established_evidence = models.FloatField(
        default=0.0, help_text="Sum of ± weights of counted votes from established identities."
    )
    probability = models.FloatField(default=0.5)
    state = models.CharField(
        max_length=16, choices=ImageLabelState.choices, default=ImageLabelState.OPEN
    )
    # A known answer, private: nothing public tells a gold item from another (its state and
    # numbers come from the crowd's votes like any item's). Training gold teaches newcomers
    # with feedback and retires after a few trainees; hidden gold checks everyone, silently.
    gold_answer = models.CharField(
        max_length=8,
        choices=[(Answer.YES, "Yes"), (Answer.NO, "No")],
        blank=True,
        default="",
        help_text="Known answer set by a moderator; gold items train and check voters.",
    )
    gold_pool = models.CharField(
        max_length=8, choices=GoldPool.choices, blank=True, default="", help_text="Gold items only."
    )
    gold_trainees = models.PositiveIntegerField(
        default=0, help_text="Trainees who answered this training item (it retires after a few)."
    )
    # The validation queue: open, on a public image. Ordered by sort_key, which is
    # a priority rank (fewest votes, least evidence first) plus a random fraction, so voters
    # starting at a random point spread out within the most-needed rank.
    in_queue = models.BooleanField(default=False)
    # The annotation queue: confirmed object labels on public images without an annotation.
    needs_annotation = models.BooleanField(default=False)
    not_annotatable_marks = models.PositiveIntegerField(default=0)
    withdrawn = models.BooleanField(
        default=False,
        help_text="Withdrawn by a moderator's revert of whoever added it (nobody else supported "
        "it): out of every queue and listing, kept for the undo.",
    )
    random_key = models.FloatField(default=random_key, editable=False)
    sort_key = models.FloatField(default=0.0)

    objects = ImageLabelQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "label"], name="image_label_unique"),
            models.CheckConstraint(
                condition=models.Q(state__in=ImageLabelState.values),
                name="image_label_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=1),
                name="image_label_probability_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["sort_key"], condition=models.Q(in_queue=True), name="image_label_queue"
            ),
            models.Index(
                fields=["label", "sort_key"],
                condition=models.Q(in_queue=True),
                name="image_label_queue_by_label",
            ),
            models.Index(
                fields=["random_key"],
                condition=~models.Q(gold_answer=""),
                name="image_label_gold",
            ),
            # The images with a label in a state, from the index alone (exports, queries): the
            # probability filters, the id joins outlines; it also serves (label, state) lookups.
            models.Index(
                fields=["label", "state", "image", "probability", "id"],
                name="image_label_label_state_image",
            ),
            # Re-checks: a random decided item, among those decided on few counted votes (the
            # 3 is RECHECK_MAX_COUNTED_VOTES's default; with a larger setting it goes unused).
            models.Index(
                fields=["random_key"],
                condition=~models.Q(state="open") & models.Q(counted_votes__lte=3),
                name="image_label_recheck",
            ),
            models.Index(
                fields=["random_key"],
                condition=models.Q(needs_annotation=True),
                name="image_label_annotation_queue",
            ),
            # The statistics' recount of the last few days reads those days' labels by this.
            models.Index(fields=["created_at"], name="image_label_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.label} on {self.image_id}"

    @property
    def is_gold(self) -> bool:
        """A known answer that still checks answers (a retired training item's was shown to
        too many trainees to check anyone)."""
        return self.gold_answer != "" and self.gold_pool != GoldPool.RETIRED

    @property
    def question(self) -> str:
        name = self.label.name
        article = "an" if name[:1] in "aeiou" else "a"
        if self.label.kind == LabelKind.SCENE:
            return f"Does this image show {article} {name} scene?"
        return f"Does this image show {article} {name}?"


class SuggestionState(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class LabelSuggestion(models.Model):
    """A word contributors used that is not in the catalog, counted until a moderator decides."""

    term = models.CharField(max_length=64, unique=True, help_text="Normalised, singular.")
    text = models.CharField(max_length=64, help_text="As first typed.")
    use_count = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=SuggestionState.choices, default=SuggestionState.OPEN
    )
    label = models.ForeignKey(
        Label,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suggestions",
        help_text="The label this suggestion became or was merged into.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-use_count", "term"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=SuggestionState.values),
                name="label_suggestion_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.text


class LabelSuggestionUse(models.Model):
    suggestion = models.ForeignKey(LabelSuggestion, on_delete=models.CASCADE, related_name="uses")
    image = models.ForeignKey(
        "donations.Image", on_delete=models.CASCADE, related_name="label_suggestion_uses"
    )
    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="label_suggestions"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["suggestion", "image"], name="label_suggestion_use_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.suggestion} on {self.image_id}"


class LabellingVisit(models.Model):
    """A contributor labelled (or skipped) an image: it is not offered to them again."""

    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.CASCADE, related_name="labelling_visits"
    )
    image = models.ForeignKey(
        "donations.Image", on_delete=models.CASCADE, related_name="labelling_visits"
    )
    skipped = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contributor", "image"], name="labelling_visit_unique"),
        ]

    def __str__(self) -> str:
        action = "skipped" if self.skipped else "labelled"
        return f"{self.contributor_id} {action} {self.image_id}"
