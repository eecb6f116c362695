"""Near-duplicate flagging at the threshold calibrated by bench/near_duplicates.py.

The photographs are the real ones bundled in scikit-image's wheel, the bench's source; the
copies below are ones the bench measured more than 3 bits from their original.
"""

import io

import pytest
from django.conf import settings
from PIL import Image as PillowImage
from skimage import data

from donations.ingest import phash_bands, phash_distance
from donations.models import Image, ImageStatus
from donations.querysets import phash_band_neighbours
from donations.services import image_donate, image_flag_near_duplicate
from tests.factories import ContributorFactory, ImageFactory

pytestmark = pytest.mark.django_db

BASE_PHASH = 0x9A3C_55E1_0F72_C4B8


def photo(name: str) -> PillowImage.Image:
    return PillowImage.fromarray(getattr(data, name)())


def donated(picture: PillowImage.Image) -> Image:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return image_donate(
        donor=ContributorFactory(), data=buffer.getvalue(), cc0_confirmed=True
    ).image


def resized_to_two_thirds(picture: PillowImage.Image) -> PillowImage.Image:
    size = (round(picture.width * 0.67), round(picture.height * 0.67))
    return picture.resize(size, PillowImage.Resampling.LANCZOS)


def darkened_by_a_tenth(picture: PillowImage.Image) -> PillowImage.Image:
    """Every level 10 % of the range lower, as an editor's brightness slider does."""
    return picture.point([max(0, level - 26) for level in range(256)] * len(picture.getbands()))


def spread_flip(phash: int, bits: int) -> int:
    """`phash` with `bits` bits flipped, dealt round-robin over the four 16-bit bands."""
    for index in range(bits):
        phash ^= 1 << (16 * (index % 4) + index // 4)
    return phash


def image_with_phash(phash: int, **fields) -> Image:
    image = ImageFactory(**fields)
    text = f"{phash:016x}"
    bands = {f"phash_band{index}": band for index, band in enumerate(phash_bands(text))}
    Image.objects.filter(pk=image.pk).update(phash=text, **bands)
    image.refresh_from_db()
    return image


@pytest.mark.parametrize(
    ("name", "edit"),
    [("brick", resized_to_two_thirds), ("astronaut", darkened_by_a_tenth)],
    ids=["resized to 67%", "brightness -10%"],
)
def test_an_edited_copy_of_a_real_photo_is_flagged_after_its_donation_commits(
    name, edit, django_capture_on_commit_callbacks
):
    picture = photo(name)
    original = donated(picture)

    with django_capture_on_commit_callbacks(execute=True):
        copy = donated(edit(picture))

    copy.refresh_from_db()
    assert copy.near_duplicate_of == original
    assert copy.near_duplicate_distance == phash_distance(copy.phash, original.phash)


def test_the_closest_distinct_real_photos_are_not_flagged():
    # The nearest pair of whole photos in the bench's set, 20 bits apart.
    donated(photo("cell"))
    other = donated(photo("hubble_deep_field"))

    assert image_flag_near_duplicate(image_id=other.pk) is None
    other.refresh_from_db()
    assert other.near_duplicate_of is None


@pytest.mark.parametrize(
    ("extra_bits", "flagged"), [(0, True), (1, False)], ids=["at the threshold", "one bit over"]
)
def test_a_pair_at_the_threshold_is_flagged_and_one_bit_over_is_not(
    extra_bits, flagged, django_assert_max_num_queries
):
    distance = settings.NEAR_DUPLICATE_MAX_DISTANCE + extra_bits
    original = image_with_phash(BASE_PHASH)
    copy = image_with_phash(spread_flip(BASE_PHASH, distance))

    with django_assert_max_num_queries(4):
        result = image_flag_near_duplicate(image_id=copy.pk)

    copy.refresh_from_db()
    if flagged:
        assert result == original
        assert (copy.near_duplicate_of, copy.near_duplicate_distance) == (original, distance)
    else:
        assert result is None
        assert (copy.near_duplicate_of, copy.near_duplicate_distance) == (None, None)


@pytest.mark.parametrize("threshold", [4, 7, 8, 11, 12])
def test_band_lookup_finds_a_match_whose_differing_bits_span_all_four_bands(settings, threshold):
    settings.NEAR_DUPLICATE_MAX_DISTANCE = threshold
    original = image_with_phash(BASE_PHASH)
    copy = image_with_phash(spread_flip(BASE_PHASH, threshold))
    assert all(
        a != b for a, b in zip(phash_bands(original.phash), phash_bands(copy.phash), strict=True)
    )

    assert image_flag_near_duplicate(image_id=copy.pk) == original


def test_band_lookup_leaves_out_a_hash_whose_every_band_is_beyond_the_radius():
    radius = settings.NEAR_DUPLICATE_MAX_DISTANCE // 4
    near = image_with_phash(spread_flip(BASE_PHASH, 4 * radius))
    image_with_phash(spread_flip(BASE_PHASH, 4 * (radius + 1)))

    candidates = Image.objects.phash_candidates(
        bands=phash_bands(f"{BASE_PHASH:016x}"),
        max_distance=settings.NEAR_DUPLICATE_MAX_DISTANCE,
    )

    assert list(candidates) == [near]


def test_band_neighbours_are_every_value_within_the_radius():
    neighbours = phash_band_neighbours(0x0F0F, radius=2)

    assert len(neighbours) == len(set(neighbours)) == 1 + 16 + 120
    assert {(value ^ 0x0F0F).bit_count() for value in neighbours} == {0, 1, 2}


def test_the_closest_older_image_that_is_not_rejected_or_removed_is_chosen():
    image_with_phash(spread_flip(BASE_PHASH, 6))
    image_with_phash(spread_flip(BASE_PHASH, 2), status=ImageStatus.REJECTED)
    image_with_phash(spread_flip(BASE_PHASH, 2), status=ImageStatus.REMOVED)
    closest = image_with_phash(spread_flip(BASE_PHASH, 4), status=ImageStatus.UNLOCKED)
    copy = image_with_phash(BASE_PHASH)
    image_with_phash(spread_flip(BASE_PHASH, 1))  # newer than the copy

    assert image_flag_near_duplicate(image_id=copy.pk) == closest
    copy.refresh_from_db()
    assert (copy.near_duplicate_of, copy.near_duplicate_distance) == (closest, 4)
