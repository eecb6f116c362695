from django.conf import settings
from django.db import models
from django.utils import timezone

from .querysets import BanQuerySet, ReportCaseQuerySet


class ReportReason(models.TextChoices):
    SEXUAL = "sexual", "Sexual content"
    VIOLENCE = "violence", "Violence or gore"
    PERSONAL_DATA = "personal_data", "A person's face or personal data without consent"
    COPYRIGHT = "copyright", "Copyright"
    SPAM = "spam", "Spam or abuse"
    WRONG_CONTENT = "wrong_content", "Wrong content"
    OTHER = "other", "Other"


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    REMOVED = "removed", "Removed"


class TargetType(models.TextChoices):
    IMAGE = "image", "Image"
    ANNOTATION = "annotation", "Annotation"
    SUGGESTION = "suggestion", "Label suggestion"


class ReportCase(models.Model):
    """Every report on one item while it waits for a moderator: the report queue's row.

    Exactly one of image, annotation and suggestion is set (the item reported)."""

    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    image = models.ForeignKey(
        "donations.Image", null=True, on_delete=models.CASCADE, related_name="report_cases"
    )
    annotation = models.ForeignKey(
        "annotations.Annotation",
        null=True,
        on_delete=models.CASCADE,
        related_name="report_cases",
    )
    suggestion = models.ForeignKey(
        "labels_app.LabelSuggestion",
        null=True,
        on_delete=models.CASCADE,
        related_name="report_cases",
    )
    state = models.CharField(max_length=16, choices=CaseState.choices, default=CaseState.OPEN)
    score = models.FloatField(
        default=0.0, help_text="Sum of the reports' weights; at the hiding score the item hides."
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    restore = models.JSONField(
        default=dict, blank=True, editable=False, help_text="What hiding changed, for dismissal."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ReportCaseQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "created_at"]
        permissions = [("decide_reportcase", "Can dismiss reports or remove reported items")]
        indexes = [
            models.Index(
                fields=["-score", "created_at"],
                condition=models.Q(state="open"),
                name="report_case_queue",
            ),
        ]
        constraints = [
            *(
                models.UniqueConstraint(
                    fields=[field],
                    condition=models.Q(state="open"),
                    name=f"report_case_one_open_per_{field}",
                )
                for field in TargetType.values
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=CaseState.values), name="report_case_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    target_type="image",
                    image__isnull=False,
                    annotation__isnull=True,
                    suggestion__isnull=True,
                )
                | models.Q(
                    target_type="annotation",
                    image__isnull=True,
                    annotation__isnull=False,
                    suggestion__isnull=True,
                )
                | models.Q(
                    target_type="suggestion",
                    image__isnull=True,
                    annotation__isnull=True,
                    suggestion__isnull=False,
                ),
                name="report_case_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"reports on {self.get_target_type_display().lower()} {self.target_id}"

    @property
    def target(self):
        return getattr(self, self.target_type)

    @property
    def target_id(self):
        return getattr(self, f"{self.target_type}_id")


class Report(models.Model):
    case = models.ForeignKey(ReportCase, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="reports"
    )
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    text = models.CharField(max_length=500, blank=True)
    # The reporter's wider network as a keyed digest (core.ratelimits.network_key): reports from
    # one network weigh once per case, however many identities it makes.
    network_key = models.CharField(max_length=16, blank=True, editable=False)
    weight = models.FloatField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "reporter"], name="report_once_per_reporter"),
            models.CheckConstraint(
                condition=models.Q(reason__in=ReportReason.values), name="report_reason_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(weight__gte=0), name="report_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} by {self.reporter_id}"


class ReporterRecord(models.Model):
    """How often a contributor's decided reports were upheld: their reports' accuracy."""

    contributor = models.OneToOneField(
        "contributors.Contributor",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="reporter_record",
    )
    decided = models.PositiveIntegerField(default=0)
    upheld = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(upheld__lte=models.F("decided")),
                name="reporter_upheld_within_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.upheld}/{self.decided} reports upheld"


class Ban(models.Model):
    """A contributor, and optionally the network they wrote from, refused every write."""

    contributor = models.ForeignKey(
        "contributors.Contributor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bans",
    )
    network = models.CharField(
        max_length=49,
        blank=True,
        help_text="An IPv4 /32 or /24 or an IPv6 /64, e.g. 203.0.113.0/24; new and existing "
        "anonymous identities from it may not write.",
    )
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: for good.")
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["network"], name="ban_network")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contributor__isnull=False) | ~models.Q(network=""),
                name="ban_names_someone",
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="ban_has_reason"),
        ]

    def __str__(self) -> str:
        who = f"contributor {self.contributor_id}" if self.contributor_id else self.network
        return f"ban of {who}"


class ActionKind(models.TextChoices):
    HIDE = "hide", "Hide (after reports)"
    DISMISS = "dismiss", "Dismiss reports"
    REMOVE = "remove", "Remove"
    BAN = "ban", "Ban"
    LIFT = "lift", "Lift a ban"
    UNLOCK = "unlock", "Unlock"
    REJECT = "reject", "Reject"
    GOLD = "gold", "Gold marking"
    SUGGESTION = "suggestion", "Label suggestion decision"
    TRUST = "trust", "Trust override"
    RESTORE = "restore", "Revision restore"
    REVERT = "revert", "Revert a contributor"
    UNDO = "undo", "Undo a revert"


class ModerationAction(models.Model):
    """The audit trail: one row per moderation decision, written by the service that makes it."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the site's own decisions (an item hidden after reports).",
    )
    kind = models.CharField(max_length=16, choices=ActionKind.choices)
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="moderation_action_target"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target_type} {self.target_id}"


class AlertKind(models.TextChoices):
    CONSENSUS_FLIPS = "consensus_flips", "Consensus flipping back and forth"
    ANSWER_BURST = "answer_burst", "Answers far above the usual rate"
    DISAGREEMENT = "disagreement", "Answers disagreeing with decided outcomes"
    REPORT_BURST = "report_burst", "Reports arriving fast"
    NEW_IDENTITIES = "new_identities", "Many new anonymous contributors from one network"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Alert(models.Model):
    """Something a moderator should look at, raised from the events the task apps announce.

    One open alert per kind and target: a repeat raises its count instead of a new row."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    target_type = models.CharField(
        max_length=32, help_text='What it is about: "labels_app.imagelabel", a network, …'
    )
    target_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    contributors = models.ManyToManyField(
        "contributors.Contributor", blank=True, related_name="alerts"
    )
    count = models.PositiveIntegerField(default=1, help_text="How often it was raised while open.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "target_type", "target_id"],
                condition=models.Q(state="open"),
                name="alert_one_open_per_target",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=AlertKind.values), name="alert_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.summary


class RevertState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    UNDOING = "undoing", "Being undone"
    UNDONE = "undone", "Undone"
    FAILED = "failed", "Failed"


class Revert(models.Model):
    """The vandal button: one contributor's work neutralised in one audited, undoable step.

    `snapshot` keeps what each changed row was, so the undo puts back exactly that."""

    contributor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="reverts"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500)
    ban = models.ForeignKey(
        Ban,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The ban made in the same step (lifted by the undo).",
    )
    state = models.CharField(max_length=16, choices=RevertState.choices, default=RevertState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="What was changed, counted.")
    snapshot = models.JSONField(default=dict, blank=True, editable=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("undo_revert", "Can undo a revert")]
        constraints = [
            models.UniqueConstraint(
                fields=["contributor"],
                condition=models.Q(state__in=["queued", "running", "done", "undoing"]),
                name="revert_one_standing_per_contributor",
            ),
        ]

    def __str__(self) -> str:
        return f"revert of {self.contributor} ({self.get_state_display().lower()})"

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 100.0
