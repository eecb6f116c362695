from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from .models import ApiToken


class ContributorQuerySet(models.QuerySet):
    def active(self) -> ContributorQuerySet:
        """Identities still in use (merged anonymous identities live on only for history)."""
        return self.filter(merged_into__isnull=True)


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)

    def matching_key(self, key: str) -> ApiToken | None:
        digest = self.model.digest_of(key)
        # The user and their contributor come in the same query: every token request needs both.
        return (
            self.active().select_related("user", "user__contributor").filter(digest=digest).first()
        )
