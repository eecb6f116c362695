from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from uuid6 import uuid7

from .querysets import PUBLIC_STATUS, ImageQuerySet, public_q


def random_key() -> float:
    import random

    # Not security relevant: a sampling key for choosing tasks without ORDER BY random().
    return random.random()  # noqa: S311


class ImageStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    UNLOCKED = "unlocked", "Unlocked"
    REJECTED = "rejected", "Rejected"
    HIDDEN = "hidden", "Hidden after reports"
    REMOVED = "removed", "Removed"


class Screening(models.TextChoices):
    NOT_SCREENED = "", "Not screened"
    CLEAN = "clean", "Clean"
    FLAGGED = "flagged", "Flagged: likely nudity"
    UNAVAILABLE = "unavailable", "Screening unavailable"


class Image(models.Model):
    """A donated photo: re-encoded without metadata, public only once a moderator unlocks it."""

    # Time-ordered ids (UUIDv7, RFC 9562): the images' id order is their donation order, so the
    # exports' pages in id order read neighbouring rows of the table and its indexes, where
    # random ids made every image of a page a different block. The 74 random bits keep an id
    # of a pending photo as hard to guess as before.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    file = models.FileField(max_length=255, editable=False)
    thumbnail_small = models.FileField(max_length=255, editable=False)
    thumbnail_large = models.FileField(max_length=255, editable=False)
    media_type = models.CharField(max_length=32, editable=False)
    byte_size = models.PositiveIntegerField(editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    original_format = models.CharField(max_length=16, editable=False)
    sha256 = models.CharField(max_length=64, unique=True, editable=False)
    crc32 = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="CRC-32 of the stored file, worked out once at ingest (archives name it in "
        "each entry instead of reading the file twice); empty where it is not known.",
    )
    phash = models.CharField(max_length=16, db_index=True, editable=False)
    # The 64-bit perceptual hash in four 16-bit bands: two hashes within t bits have a band
    # within t // 4 bits, so near-duplicate candidates come from IN lookups on four indexes
    # (ImageQuerySet.phash_candidates), not a scan.
    phash_band0 = models.PositiveIntegerField(editable=False)
    phash_band1 = models.PositiveIntegerField(editable=False)
    phash_band2 = models.PositiveIntegerField(editable=False)
    phash_band3 = models.PositiveIntegerField(editable=False)
    near_duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="near_duplicates",
        help_text="The likely original this image looks almost identical to.",
    )
    near_duplicate_distance = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=ImageStatus.choices, default=ImageStatus.PENDING
    )
    donor = models.ForeignKey(
        "contributors.Contributor", on_delete=models.PROTECT, related_name="donations"
    )
    cc0_confirmed = models.BooleanField(default=False)
    random_key = models.FloatField(default=random_key, db_index=True, editable=False)
    label_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Labels on this image (labelling task order)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The automatic nudity screening (moderation.screening), for the moderators' review.
    screening = models.CharField(
        max_length=16, choices=Screening.choices, blank=True, default="", editable=False
    )
    screening_score = models.FloatField(
        null=True,
        blank=True,
        editable=False,
        help_text="The nudity detector's highest confidence for an exposed intimate part.",
    )

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("review_image", "Can unlock or reject donated images")]
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="image_status_newest"),
            models.Index(fields=["donor", "-created_at"], name="image_donor_newest"),
            models.Index(
                fields=["label_count", "random_key"],
                condition=public_q(),
                name="image_labelling_queue",
            ),
            models.Index(fields=["phash_band0"], name="image_phash_band0"),
            models.Index(fields=["phash_band1"], name="image_phash_band1"),
            models.Index(fields=["phash_band2"], name="image_phash_band2"),
            models.Index(fields=["phash_band3"], name="image_phash_band3"),
            # The newest review stamps the dataset version every export names (max() reads
            # one index entry instead of every image).
            models.Index(fields=["reviewed_at"], name="image_reviewed_at"),
            # An image's public status and the attributes queries compare, read by id from the
            # index alone (the rows are ten times wider) when a query joins its images.
            models.Index(
                fields=["id", "status", "width", "height", "created_at"],
                name="image_query_attributes",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ImageStatus.values), name="image_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(cc0_confirmed=True), name="image_cc0_confirmed"
            ),
            models.CheckConstraint(
                condition=models.Q(width__gt=0, height__gt=0), name="image_has_pixels"
            ),
            models.CheckConstraint(
                condition=models.Q(crc32__lte=0xFFFFFFFF), name="image_crc32_is_32_bits"
            ),
            models.CheckConstraint(
                condition=~models.Q(near_duplicate_of=models.F("pk")),
                name="image_not_near_duplicate_of_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("image-detail", kwargs={"pk": self.pk})

    @property
    def is_public(self) -> bool:
        return self.status == PUBLIC_STATUS

    @property
    def megapixels(self) -> float:
        return round(self.width * self.height / 1_000_000, 1)

    @property
    def file_extension(self) -> str:
        return self.file.name.rsplit(".", 1)[-1]

    def file_url(self, variant: str = "full") -> str:
        return reverse("image-file", kwargs={"pk": self.pk, "variant": variant})

    def stored_files(self) -> list[str]:
        return [f.name for f in (self.file, self.thumbnail_small, self.thumbnail_large) if f]
