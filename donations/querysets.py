from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from contributors.models import Contributor

# Image.phash_band0..3 each hold 16 bits of the 64-bit perceptual hash (ingest.phash_bands).
PHASH_BAND_BITS = 16


# The one rule for "anyone may see this image": a moderator unlocked it. Image.is_public is the
# same rule for one row; everything else filters with public_q.
PUBLIC_STATUS = "unlocked"
REMOVED_STATUS = "removed"


def public_q(path: str = "") -> models.Q:
    """The public-image rule as a filter, on Image itself (path "") or on rows that point at an
    image (e.g. "image__", "image_label__image__"), so joins keep using their indexes."""
    return models.Q(**{f"{path}status": PUBLIC_STATUS})


class ImageQuerySet(models.QuerySet):
    def public(self) -> ImageQuerySet:
        """Images anyone may see: unlocked by a moderator."""
        return self.filter(public_q())

    def not_public(self) -> ImageQuerySet:
        """The images public() leaves out. Their statuses are listed rather than the rule
        negated, so that PostgreSQL finds the few of them in the status index instead of
        reading every image."""
        statuses = [
            value
            for value, _label in self.model._meta.get_field("status").choices
            if value != PUBLIC_STATUS
        ]
        return self.filter(status__in=statuses)

    def hidden(self) -> ImageQuerySet:
        """Images hidden after reports, waiting for a moderator."""
        return self.filter(status="hidden")

    def pending(self) -> ImageQuerySet:
        return self.filter(status="pending")

    def donated_by(self, contributor: Contributor | None) -> ImageQuerySet:
        if contributor is None:
            return self.none()
        return self.filter(donor=contributor)

    def visible_to(
        self, *, user: AbstractBaseUser | None, contributor: Contributor | None
    ) -> ImageQuerySet:
        """Public images, plus a donor's own donations unless removed, plus everything for
        moderators."""
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and (user.has_perm("donations.review_image") or user.has_perm("donations.view_image"))
        ):
            return self.all()
        if contributor is None:
            return self.public()
        # A removed photo (sexual content, someone's personal data) is gone for its donor too.
        return self.filter(
            public_q() | (models.Q(donor=contributor) & ~models.Q(status=REMOVED_STATUS))
        )

    def visible_to_request(self, request) -> ImageQuerySet:
        """`visible_to` for the visitor behind a page or API request."""
        return self.visible_to(
            user=getattr(request, "user", None), contributor=getattr(request, "contributor", None)
        )

    def phash_candidates(
        self, *, bands: tuple[int, int, int, int], max_distance: int
    ) -> ImageQuerySet:
        """Every image whose perceptual hash may be within `max_distance` bits of these bands.

        Pigeonhole: two 64-bit hashes at most t bits apart have a 16-bit band at most t // 4 bits
        apart, so each band is matched against all its values within that radius, an IN on the
        band's index, and nothing within t is missed; callers compute the exact distance. At the
        default t = 8 (radius 2) that is 137 values per band, 548 probes in one BitmapOr, and at
        1M images about 8,300 rows if band values were uniform (8,221 rows, 61 ms on PostgreSQL);
        bench/near_duplicates.py estimates 17,000 to 33,000 for real photos, whose bands are
        skewed. Radius 1 (t 4-7) would be about 1,000-6,000 rows, radius 3 (t 12-15)
        42,000-115,000.
        """
        radius = max_distance // len(bands)
        condition = models.Q()
        for index, value in enumerate(bands):
            neighbours = phash_band_neighbours(value, radius=radius)
            condition |= models.Q(**{f"phash_band{index}__in": neighbours})
        return self.filter(condition)


def phash_band_neighbours(value: int, *, radius: int) -> list[int]:
    """Every 16-bit band value within `radius` bits of `value`, itself included."""
    return [
        value ^ sum(1 << bit for bit in flipped)
        for distance in range(radius + 1)
        for flipped in itertools.combinations(range(PHASH_BAND_BITS), distance)
    ]
