from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from contributors.models import Contributor


class ImageQuerySet(models.QuerySet):
    def public(self) -> ImageQuerySet:
        """Images anyone may see: unlocked by a moderator."""
        return self.filter(status="unlocked")

    def pending(self) -> ImageQuerySet:
        return self.filter(status="pending")

    def donated_by(self, contributor: Contributor | None) -> ImageQuerySet:
        if contributor is None:
            return self.none()
        return self.filter(donor=contributor)

    def visible_to(
        self, *, user: AbstractBaseUser | None, contributor: Contributor | None
    ) -> ImageQuerySet:
        """Public images, plus a donor's own donations, plus everything for moderators."""
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and (user.has_perm("donations.review_image") or user.has_perm("donations.view_image"))
        ):
            return self.all()
        if contributor is None:
            return self.public()
        return self.filter(models.Q(status="unlocked") | models.Q(donor=contributor))

    def with_phash_band_match(self, bands: tuple[int, int, int, int]) -> ImageQuerySet:
        """Candidates sharing at least one perceptual-hash band (see Image.phash_band0)."""
        condition = models.Q()
        for index, value in enumerate(bands):
            condition |= models.Q(**{f"phash_band{index}": value})
        return self.filter(condition)
