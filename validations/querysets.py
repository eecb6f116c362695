from __future__ import annotations

from django.conf import settings
from django.db import models

from donations.querysets import public_q
from labels_app.querysets import ImageLabelQuerySet


class ValidationQuestionQuerySet(ImageLabelQuerySet):
    def in_queue(self) -> ValidationQuestionQuerySet:
        """Open image-labels on public images that need more answers."""
        return self.filter(in_queue=True)

    def gold(self, pool: str) -> ValidationQuestionQuerySet:
        """Gold items of one pool (training or hidden) on public images."""
        return self.exclude(gold_answer="").filter(public_q("image__"), gold_pool=pool)

    def not_seen_by(self, contributor, *, gold_only: bool = False) -> ValidationQuestionQuerySet:
        """Without the ones this contributor answered or skipped (NOT EXISTS, index-backed).

        `gold_only` narrows the answered-check to answers on gold items, which a partial
        index covers, so choosing gold does not scan a long voting history."""
        from .models import ValidationSkip, Vote

        if contributor is None:
            return self
        answered = Vote.objects.filter(image_label=models.OuterRef("pk"), contributor=contributor)
        if gold_only:
            answered = answered.filter(on_gold=True)
        skipped = ValidationSkip.objects.filter(
            image_label=models.OuterRef("pk"), contributor=contributor
        )
        return self.filter(~models.Exists(answered), ~models.Exists(skipped))

    def recheckable(self) -> ValidationQuestionQuerySet:
        """Decided items on public images decided on few counted votes, where a wrong decision
        is likeliest and a second look cheapest (see RECHECK_RATE)."""
        return self.exclude(state="open").filter(
            public_q("image__"), counted_votes__lte=settings.RECHECK_MAX_COUNTED_VOTES
        )

    def open_for(self, contributor) -> ValidationQuestionQuerySet:
        return self.in_queue().not_seen_by(contributor)

    def gold_candidates(self) -> ValidationQuestionQuerySet:
        """Decided items that may become known answers: on public images, not gold yet, and
        decided by established evidence of at least GOLD_CANDIDATE_EVIDENCE."""
        strong = settings.GOLD_CANDIDATE_EVIDENCE
        return self.filter(
            models.Q(state="confirmed", established_evidence__gte=strong)
            | models.Q(state="rejected", established_evidence__lte=-strong),
            public_q("image__"),
            gold_answer="",
        )
