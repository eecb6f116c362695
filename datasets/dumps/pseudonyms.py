"""Contributors in a release: a stable random-looking name per contributor, never the id.

HMAC-SHA256 of the contributor's id under a secret of the server: the same contributor has the
same pseudonym in every release (their work can be followed across releases), and nobody
without the secret can tell which contributor it is or find a given contributor's work.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

PSEUDONYM_HEX = 20  # 80 bits: no two of millions of contributors share one
KEY_CONTEXT = b"imagemonkey dataset release pseudonyms v1"


def pseudonym_key() -> bytes:
    """DATASET_PSEUDONYM_KEY, or a key of its own derived from SECRET_KEY (never the
    SECRET_KEY itself, which also signs sessions)."""
    from django.conf import settings

    if settings.DATASET_PSEUDONYM_KEY:
        return settings.DATASET_PSEUDONYM_KEY.encode()
    return hmac.new(settings.SECRET_KEY.encode(), KEY_CONTEXT, hashlib.sha256).digest()


def pseudonym_of(contributor_id: int, *, key: bytes) -> str:
    digest = hmac.new(key, str(contributor_id).encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX]


class Pseudonyms:
    """The pseudonyms of one dump. A contributor restored from a release keeps the pseudonym
    they had there (datasets.ContributorPseudonym), so a dump of a restored instance names
    everyone as the release it came from did."""

    def __init__(self, *, key: bytes | None = None) -> None:
        from ..models import ContributorPseudonym

        self.key = key if key is not None else pseudonym_key()
        # Only restored instances have any; there, one per contributor.
        self.restored = dict(
            ContributorPseudonym.objects.values_list("contributor_id", "pseudonym")
        )
        self.of = lru_cache(maxsize=100_000)(self._of)

    def _of(self, contributor_id: int | None) -> str | None:
        if contributor_id is None:
            return None
        restored = self.restored.get(contributor_id)
        if restored is not None:
            return restored
        return pseudonym_of(contributor_id, key=self.key)
