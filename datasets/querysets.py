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
