from __future__ import annotations

from datetime import datetime

from django.db import models


class ExportJobQuerySet(models.QuerySet):
    def of(self, contributor) -> ExportJobQuerySet:
        """A contributor's own jobs (nobody sees another's)."""
        if contributor is None:
            return self.none()
        return self.filter(contributor=contributor)

    def unfinished(self) -> ExportJobQuerySet:
        return self.filter(state__in=["queued", "running"])

    def reusable(self, fingerprint: str) -> ExportJobQuerySet:
        """Finished archives of the same export of the same data."""
        return self.filter(fingerprint=fingerprint, state="done").exclude(archive="")

    def finished_before(self, moment: datetime) -> ExportJobQuerySet:
        return self.filter(state__in=["done", "failed"], finished_at__lt=moment)


class ExportOutlineQuerySet(models.QuerySet):
    def stale_annotations(self, annotations: models.QuerySet) -> models.QuerySet:
        """The annotations whose current shapes have no export forms yet (new, redrawn or
        refined since)."""
        current = self.filter(
            annotation=models.OuterRef("pk"), drawn_at=models.OuterRef("updated_at")
        )
        return annotations.filter(~models.Exists(current))
