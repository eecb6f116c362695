import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from uuid6 import uuid7

from contributors.models import Contributor
from core.errors import DomainError
from core.events import announce, decision_announce

from .ingest import ProcessedImage, image_process, phash_distance
from .labelling import donation_labels_attach, donation_labels_clean
from .models import Image, ImageStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Donation:
    image: Image
    notes: tuple[str, ...]


def _duplicate_error(existing: Image) -> DomainError:
    return DomainError(
        "This photo is already in the dataset, so nothing new was stored.",
        code="duplicate",
        status=409,
        image_id=str(existing.pk),
    )


def image_donate(
    *,
    donor: Contributor | Callable[[], Contributor],
    data: bytes,
    cc0_confirmed: bool,
    labels: list[str] | tuple[str, ...] = (),
) -> Donation:
    """Run an upload through the ingest pipeline and store it as a pending image, with the
    labels its donor gave (they join the validation queue once the image is unlocked).

    `donor` may be a callable, called only once the upload is accepted, so a refused upload
    creates no contributor. Files are written before the row is committed and removed again if
    anything fails, so a refused upload leaves neither a row nor a file behind.
    """
    if not cc0_confirmed:
        raise DomainError(
            "Please confirm that you own this photo and dedicate it to the public domain (CC0).",
            code="cc0_required",
        )
    if labels:
        labels = donation_labels_clean(list(labels))
    processed = image_process(
        data=data,
        max_bytes=settings.DONATION_MAX_BYTES,
        max_pixels=settings.DONATION_MAX_PIXELS,
        jpeg_quality=settings.DONATION_JPEG_QUALITY,
        thumbnail_sizes=settings.DONATION_THUMBNAIL_SIZES,
    )
    existing = Image.objects.filter(sha256=processed.sha256).first()
    if existing is not None:
        raise _duplicate_error(existing)

    if callable(donor):
        donor = donor()
    image_id = uuid7()
    stored = image_files_store(image_id=image_id, processed=processed)
    try:
        with transaction.atomic():
            image = Image.objects.create(
                id=image_id,
                donor=donor,
                cc0_confirmed=True,
                **processed.image_fields(),
                **stored,
            )
            if labels:
                donation_labels_attach(contributor=donor, image=image, texts=labels)
            transaction.on_commit(lambda: _after_donation(image.pk))
    except IntegrityError:
        _delete_files(stored.values())
        # Two uploads of the same photo raced; the other one won.
        existing = Image.objects.filter(sha256=processed.sha256).first()
        if existing is None:
            raise
        raise _duplicate_error(existing) from None
    except BaseException:
        _delete_files(stored.values())
        raise
    return Donation(image=image, notes=processed.notes)


def image_files_store(*, image_id: uuid.UUID, processed: ProcessedImage) -> dict[str, str]:
    """Write the image and its previews to media storage; returns the Image file fields."""
    folder = image_id.hex[:2]
    small, large = sorted(processed.thumbnails)
    wanted = {
        "file": (f"images/{folder}/{image_id}.{processed.extension}", processed.content),
        "thumbnail_small": (
            f"thumbnails/{folder}/{image_id}-{small}.webp",
            processed.thumbnails[small],
        ),
        "thumbnail_large": (
            f"thumbnails/{folder}/{image_id}-{large}.webp",
            processed.thumbnails[large],
        ),
    }
    stored: dict[str, str] = {}
    try:
        for field_name, (name, content) in wanted.items():
            stored[field_name] = default_storage.save(name, ContentFile(content))
    except BaseException:
        _delete_files(stored.values())
        raise
    return stored


def _delete_files(names) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # Cleanup must not hide the original error.
            logger.exception("Could not delete stored file %s", name)


def _after_donation(image_id: uuid.UUID) -> None:
    from .tasks import flag_near_duplicate  # tasks.py imports this module

    flag_near_duplicate.enqueue(image_id=str(image_id))
    announce("image.donated", image_id=image_id)
    announce("images.changed")
    announce("activity", kind="donated", label_id=None)


def image_flag_near_duplicate(*, image_id: uuid.UUID | str) -> Image | None:
    """Point an image at the closest older image whose perceptual hash is nearly the same."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return None
    limit = settings.NEAR_DUPLICATE_MAX_DISTANCE
    candidates = (
        Image.objects.phash_candidates(
            bands=(image.phash_band0, image.phash_band1, image.phash_band2, image.phash_band3),
            max_distance=limit,
        )
        .exclude(pk=image.pk)
        .exclude(status__in=[ImageStatus.REJECTED, ImageStatus.REMOVED])
        .filter(created_at__lte=image.created_at)
        # Tens of thousands of rows at 1M images (see phash_candidates): tuples, streamed,
        # without the default ordering's sort.
        .order_by()
        .values_list("phash", "created_at", "pk")
    )
    best = min(
        (
            (phash_distance(image.phash, phash), created_at, pk)
            for phash, created_at, pk in candidates.iterator(chunk_size=2000)
        ),
        default=None,
    )
    if best is None or best[0] > limit:
        return None
    distance, _, original_id = best
    Image.objects.filter(pk=image.pk).update(
        near_duplicate_of_id=original_id, near_duplicate_distance=distance
    )
    return Image.objects.get(pk=original_id)


@transaction.atomic
def image_review(
    *, image_ids: Iterable[uuid.UUID | str], decision: str, reviewer: AbstractBaseUser
) -> list[Image]:
    """Unlock or reject pending images, recording who decided and when.

    Only pending images change; images another moderator already decided are left as they are.
    """
    if decision not in (ImageStatus.UNLOCKED, ImageStatus.REJECTED):
        raise DomainError(
            f"Unknown review decision {decision!r}; use 'unlocked' or 'rejected'.",
            code="invalid_decision",
        )
    if not reviewer.has_perm("donations.review_image"):
        raise DomainError(
            "You do not have permission to review donated images.",
            code="permission_denied",
            status=403,
        )
    try:
        ids = [uuid.UUID(str(image_id)) for image_id in image_ids]
    except ValueError:
        raise DomainError("That is not a valid image id.", code="invalid_image_id") from None
    return _pending_decide(ids, decision=decision, reviewer=reviewer)


def _pending_decide(
    ids: list[uuid.UUID], *, decision: str, reviewer: AbstractBaseUser | None, reason: str = ""
) -> list[Image]:
    images = list(Image.objects.select_for_update().filter(pk__in=ids, status=ImageStatus.PENDING))
    now = timezone.now()
    for image in images:
        image.status = decision
        image.reviewed_by = reviewer
        image.reviewed_at = now
    Image.objects.bulk_update(images, ["status", "reviewed_by", "reviewed_at"])
    kind = "unlock" if decision == ImageStatus.UNLOCKED else "reject"
    for image in images:
        # The audit trail (moderation listens; this app does not know it).
        decision_announce(
            actor=reviewer,
            kind=kind,
            target=image,
            reason=reason,
            before={"status": ImageStatus.PENDING},
            after={"status": decision},
        )
    if decision == ImageStatus.UNLOCKED:
        # Labels the donor added while the image was pending now join the task queues.
        announce("images.unlocked", images=images)
    if images:
        transaction.on_commit(lambda: announce("images.changed"))
    return images


# Where a removed image's files wait for REMOVED_RETENTION_DAYS: never served to the public
# (only ImageFileView serves files, and a removed image is visible to moderators alone).
REMOVED_PREFIX = "removed/"
FILE_FIELDS = ("file", "thumbnail_small", "thumbnail_large")


@transaction.atomic
def image_status_set(
    *, image_id: uuid.UUID | str, to: str, by: AbstractBaseUser | None
) -> tuple[Image, str] | None:
    """Move one image to a moderation status (hidden, unlocked again, removed), stamped like a
    review so the dataset version changes; returns the image and its previous status, or None
    when there is no such image."""
    image = Image.objects.select_for_update().filter(pk=image_id).first()
    if image is None:
        return None
    previous = image.status
    if previous == to:
        return image, previous
    image.status = to
    image.reviewed_by = by
    image.reviewed_at = timezone.now()
    image.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    transaction.on_commit(lambda: announce("images.changed"))
    return image, previous


def image_files_protect(*, image_id: uuid.UUID | str) -> int:
    """Move a removed image's files under REMOVED_PREFIX; returns how many moved. Safe to run
    again (files already there stay)."""
    image = Image.objects.filter(pk=image_id, status=ImageStatus.REMOVED).first()
    if image is None:
        return 0
    moved: dict[str, str] = {}
    for field_name in FILE_FIELDS:
        name = getattr(image, field_name).name
        if not name or name.startswith(REMOVED_PREFIX):
            continue
        with default_storage.open(name, "rb") as source:
            moved[field_name] = default_storage.save(REMOVED_PREFIX + name, source)
    if moved:
        Image.objects.filter(pk=image.pk).update(**moved)
        _delete_files(getattr(image, field_name).name for field_name in moved)
    return len(moved)


def image_files_delete(*, image_id: uuid.UUID | str) -> int:
    """Delete a removed image's files for good (the row stays, so the photo's hash still
    refuses it as a duplicate); returns how many files went."""
    image = Image.objects.filter(pk=image_id, status=ImageStatus.REMOVED).first()
    if image is None:
        return 0
    names = [getattr(image, field_name).name for field_name in FILE_FIELDS]
    names = [name for name in names if name]
    _delete_files(names)
    Image.objects.filter(pk=image.pk).update(**dict.fromkeys(FILE_FIELDS, ""))
    return len(names)


@transaction.atomic
def image_screening_record(*, image_id: uuid.UUID | str, state: str, score: float | None) -> None:
    """Note the automatic screening's verdict on an image, for the moderators' review."""
    Image.objects.filter(pk=image_id).update(screening=state, screening_score=score)


@transaction.atomic
def image_auto_unlock(*, image_id: uuid.UUID | str, reason: str) -> bool:
    """Unlock a pending image without a moderator (screened clean, from a trusted donor);
    audited like a review, with the site as the actor."""
    return bool(
        _pending_decide(
            [uuid.UUID(str(image_id))], decision=ImageStatus.UNLOCKED, reviewer=None, reason=reason
        )
    )
