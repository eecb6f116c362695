from __future__ import annotations

from django.db import models

from donations.querysets import public_q


class AnnotationQuerySet(models.QuerySet):
    def shown(self) -> AnnotationQuerySet:
        """Annotations anyone may see: on a public image, and not hidden after reports."""
        return self.filter(public_q("image_label__image__"), hidden=False)
