import pytest
from django.db import IntegrityError

from core.errors import DomainError
from donations.models import Image, ImageStatus
from donations.services import image_donate, image_flag_near_duplicate, image_review
from tests import image_files
from tests.factories import ContributorFactory, ImageFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_donation_is_stored_pending_with_its_files(stored_files):
    donor = ContributorFactory()

    donation = image_donate(donor=donor, data=image_files.jpeg_with_gps(), cc0_confirmed=True)

    image = Image.objects.get()
    assert image == donation.image
    assert image.status == ImageStatus.PENDING
    assert image.donor == donor
    assert (image.width, image.height, image.media_type) == (640, 480, "image/jpeg")
    assert sorted(image.stored_files()) == stored_files()
    assert len(stored_files()) == 3


def test_duplicate_donation_points_at_the_existing_image_and_stores_nothing(stored_files):
    data = image_files.jpeg(seed=21)
    first = image_donate(donor=ContributorFactory(), data=data, cc0_confirmed=True).image
    files_before = stored_files()

    with pytest.raises(DomainError) as caught:
        image_donate(donor=ContributorFactory(), data=data, cc0_confirmed=True)

    assert caught.value.status == 409
    assert caught.value.code == "duplicate"
    assert (
        caught.value.message == "This photo is already in the dataset, so nothing new was stored."
    )
    assert caught.value.extra == {"image_id": str(first.pk)}
    assert Image.objects.count() == 1
    assert stored_files() == files_before


def test_missing_cc0_confirmation_stores_nothing(stored_files):
    with pytest.raises(DomainError) as caught:
        image_donate(donor=ContributorFactory(), data=image_files.jpeg(), cc0_confirmed=False)

    assert caught.value.code == "cc0_required"
    assert "CC0" in caught.value.message
    assert Image.objects.count() == 0
    assert stored_files() == []


def test_a_failed_row_insert_removes_the_files_already_written(monkeypatch, stored_files):
    def fail(**kwargs):
        raise IntegrityError("simulated failure")

    monkeypatch.setattr(Image.objects, "create", fail)

    with pytest.raises(IntegrityError):
        image_donate(donor=ContributorFactory(), data=image_files.jpeg(), cc0_confirmed=True)

    assert stored_files() == []


def test_near_duplicate_is_flagged_with_the_likely_original(settings):
    photo = image_files.photo(640, 480, seed=31)
    original = image_donate(
        donor=ContributorFactory(),
        data=image_files.encode(photo, "JPEG", quality=95),
        cc0_confirmed=True,
    ).image
    copy = image_donate(
        donor=ContributorFactory(),
        data=image_files.encode(photo.resize((620, 465)), "JPEG", quality=75),
        cc0_confirmed=True,
    ).image

    assert image_flag_near_duplicate(image_id=copy.pk) == original

    copy.refresh_from_db()
    original.refresh_from_db()
    assert copy.near_duplicate_of == original
    assert copy.near_duplicate_distance <= settings.NEAR_DUPLICATE_MAX_DISTANCE
    assert original.near_duplicate_of is None


def test_near_duplicate_check_runs_as_a_task_after_the_donation_commits(
    django_capture_on_commit_callbacks,
):
    photo = image_files.photo(640, 480, seed=32)
    original = image_donate(
        donor=ContributorFactory(), data=image_files.encode(photo, "JPEG"), cc0_confirmed=True
    ).image

    with django_capture_on_commit_callbacks(execute=True):
        copy = image_donate(
            donor=ContributorFactory(),
            data=image_files.encode(photo, "JPEG", quality=70),
            cc0_confirmed=True,
        ).image

    copy.refresh_from_db()
    assert copy.near_duplicate_of == original


def test_different_photos_are_not_flagged_as_near_duplicates():
    image_donate(donor=ContributorFactory(), data=image_files.jpeg(seed=41), cc0_confirmed=True)
    other = image_donate(
        donor=ContributorFactory(), data=image_files.jpeg(seed=42), cc0_confirmed=True
    ).image

    assert image_flag_near_duplicate(image_id=other.pk) is None
    other.refresh_from_db()
    assert other.near_duplicate_of is None


def test_review_unlocks_and_records_who_and_when():
    moderator = ModeratorFactory()
    image = ImageFactory()

    changed = image_review(image_ids=[image.pk], decision="unlocked", reviewer=moderator)

    image.refresh_from_db()
    assert changed == [image]
    assert image.status == ImageStatus.UNLOCKED
    assert image.reviewed_by == moderator
    assert image.reviewed_at is not None


def test_review_leaves_images_that_are_no_longer_pending_alone():
    moderator = ModeratorFactory()
    rejected = ImageFactory(status=ImageStatus.REJECTED)

    changed = image_review(image_ids=[rejected.pk], decision="unlocked", reviewer=moderator)

    rejected.refresh_from_db()
    assert changed == []
    assert rejected.status == ImageStatus.REJECTED


def test_review_requires_the_review_permission():
    staff_without_permission = UserFactory(is_staff=True)
    image = ImageFactory()

    with pytest.raises(DomainError) as caught:
        image_review(image_ids=[image.pk], decision="unlocked", reviewer=staff_without_permission)

    assert (caught.value.status, caught.value.code) == (403, "permission_denied")
    image.refresh_from_db()
    assert image.status == ImageStatus.PENDING


@pytest.mark.parametrize(
    ("image_ids", "decision", "code"),
    [(["not-a-uuid"], "unlocked", "invalid_image_id"), ([], "published", "invalid_decision")],
)
def test_review_refuses_bad_input(image_ids, decision, code):
    with pytest.raises(DomainError) as caught:
        image_review(image_ids=image_ids, decision=decision, reviewer=ModeratorFactory())

    assert caught.value.code == code


def test_every_image_is_either_public_or_not_public():
    images = {status: ImageFactory(status=status) for status in ImageStatus.values}

    assert set(Image.objects.public()) == {images[ImageStatus.UNLOCKED]}
    assert set(Image.objects.not_public()) == set(images.values()) - {images[ImageStatus.UNLOCKED]}


def test_image_ids_follow_the_order_of_donation(stored_files):
    # Time-ordered ids (UUIDv7): exports page through images in id order, and with these
    # that order reads the table where it was written.
    donor = ContributorFactory()
    images = [
        image_donate(donor=donor, data=image_files.jpeg(seed=seed), cc0_confirmed=True).image
        for seed in (31, 32, 33)
    ]

    assert [image.pk.version for image in images] == [7, 7, 7]
    assert sorted(images, key=lambda image: image.pk) == images
