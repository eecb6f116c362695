from __future__ import annotations

from django.db import models

from .terms import term_normalise


class LabelQuerySet(models.QuerySet):
    def active(self) -> LabelQuerySet:
        return self.filter(active=True)

    def refinements_for(self, label) -> list:
        """The active refinement kinds whose catalog `applies_to` covers this object label:
        its group, the label itself or one of its ancestors, or "*" (every object)."""
        if label.kind != "object":
            return []
        targets = {"*", label.group}
        ancestor = label
        while ancestor is not None and ancestor.name not in targets:
            targets.add(ancestor.name)
            ancestor = ancestor.parent
        kinds = self.active().filter(kind="refinement").order_by("name")
        return [kind for kind in kinds if targets.intersection(kind.applies_to)]


class LabelTermQuerySet(models.QuerySet):
    def matching_prefix(self, text: str) -> LabelTermQuerySet:
        """Terms of active labels starting with the typed text (index-friendly: no LIKE '%x')."""
        return self.filter(term__startswith=term_normalise(text), label__active=True)


class ImageLabelQuerySet(models.QuerySet):
    def in_queue(self) -> ImageLabelQuerySet:
        """Open image-labels on public images that need more answers."""
        return self.filter(in_queue=True)

    def gold(self) -> ImageLabelQuerySet:
        return self.exclude(gold_answer="").filter(image__status="unlocked")

    def not_seen_by(self, contributor, *, gold_only: bool = False) -> ImageLabelQuerySet:
        """Without the ones this contributor answered or skipped (NOT EXISTS, index-backed).

        `gold_only` narrows the answered-check to answers on gold items, which a partial
        index covers, so choosing gold does not scan a long voting history."""
        from validations.models import ValidationSkip, Vote

        if contributor is None:
            return self
        answered = Vote.objects.filter(image_label=models.OuterRef("pk"), contributor=contributor)
        if gold_only:
            answered = answered.filter(on_gold=True)
        skipped = ValidationSkip.objects.filter(
            image_label=models.OuterRef("pk"), contributor=contributor
        )
        return self.filter(~models.Exists(answered), ~models.Exists(skipped))

    def open_for(self, contributor) -> ImageLabelQuerySet:
        return self.in_queue().not_seen_by(contributor)
