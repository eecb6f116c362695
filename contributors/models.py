import hashlib
import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from .querysets import ApiTokenQuerySet, ContributorQuerySet

# What banned_until holds for a ban without an end (a date no period ban reaches).
BANNED_FOR_GOOD = datetime(9999, 1, 1, tzinfo=UTC)


class TrustLevel(models.IntegerChoices):
    NEWCOMER = 0, "Newcomer (in training)"
    CONTRIBUTOR = 1, "Contributor"
    TRUSTED = 2, "Trusted"
    MODERATOR = 3, "Moderator"


class Contributor(models.Model):
    """One person's identity for contributions, anonymous until they log in or sign up."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributor",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    trust_level = models.PositiveSmallIntegerField(
        choices=TrustLevel.choices, default=TrustLevel.NEWCOMER
    )
    trust_level_locked = models.BooleanField(
        default=False, help_text="A moderator fixed this level; automatic rules leave it alone."
    )
    points = models.PositiveIntegerField(default=0)
    # Training and hidden checks: answers to gold items (image-labels with a known answer).
    gold_answered = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    votes_cast = models.PositiveIntegerField(default=0)
    votes_counted = models.BooleanField(
        default=False,
        help_text="Whether this voter's answers count toward consensus (training passed and "
        "gold accuracy still good). Flipping it recounts all their votes.",
    )
    training_passed_at = models.DateTimeField(null=True, blank=True)
    # Agreement with the decided outcome of ordinary items (trust.services): how a voter's
    # weight grows, and how a voter right on gold but wrong elsewhere is found out.
    agreement_judged = models.PositiveIntegerField(default=0)
    agreement_agreed = models.PositiveIntegerField(default=0)
    agreement_alarm = models.FloatField(
        default=0.0, help_text="Change detector (CUSUM) on disagreements; demotes at its limit."
    )
    reliability = models.FloatField(
        null=True, blank=True, help_text="Estimated accuracy from agreement (Dawid-Skene)."
    )
    # A demotion sticks: promotion again needs fresh hidden-gold answers after it, and only
    # judgements given from the new promotion on count.
    demoted_at = models.DateTimeField(null=True, blank=True)
    probation_gold_answered = models.PositiveIntegerField(default=0)
    probation_gold_correct = models.PositiveIntegerField(default=0)
    counting_since = models.DateTimeField(
        null=True, blank=True, help_text="Judgements before this never count (after a demotion)."
    )
    banned_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set by the bans in force (moderation); the far future means for good.",
    )
    last_network = models.CharField(
        max_length=49,
        blank=True,
        editable=False,
        help_text="The IP network (IPv4 address, IPv6 /64) of the latest write: what a network "
        "ban of this contributor names.",
    )
    reverted_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="A moderator reverted this contributor: none of their judgements count until "
        "the revert is undone.",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        help_text="Set when this anonymous identity was folded into a registered account.",
    )

    objects = ContributorQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(trust_level__gte=0, trust_level__lte=3),
                name="contributor_trust_level_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("pk")),
                name="contributor_not_merged_into_self",
            ),
            models.CheckConstraint(
                condition=models.Q(gold_correct__lte=models.F("gold_answered")),
                name="contributor_gold_correct_within_answered",
            ),
            models.CheckConstraint(
                condition=models.Q(agreement_agreed__lte=models.F("agreement_judged")),
                name="contributor_agreed_within_judged",
            ),
            models.CheckConstraint(
                condition=models.Q(probation_gold_correct__lte=models.F("probation_gold_answered")),
                name="contributor_probation_correct_within_answered",
            ),
        ]

    def __str__(self) -> str:
        if self.user_id:
            return self.user.get_username()
        return f"anonymous #{self.pk}"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def is_banned(self) -> bool:
        return self.banned_until is not None and self.banned_until > timezone.now()

    @property
    def is_banned_for_good(self) -> bool:
        return self.banned_until is not None and self.banned_until >= BANNED_FOR_GOOD

    @property
    def in_training(self) -> bool:
        return self.training_passed_at is None and self.trust_level != TrustLevel.MODERATOR

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answered if self.gold_answered else None


class ApiToken(models.Model):
    """A named key for scripts; only its digest is stored, the key is shown once at creation."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="api_token_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def contributor(self) -> Contributor | None:
        """The owner's contributor; `matching_key` fetches it with the token, in one query."""
        return getattr(self.user, "contributor", None)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate_key() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
