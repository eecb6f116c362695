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
    """Which claims exist; who may answer or outline them is each task app's own queryset
    (validations.ValidationQuestion, annotations' task queries)."""

    def standing(self) -> ImageLabelQuerySet:
        """Claims not withdrawn by a moderator's revert of the one who made them."""
        return self.filter(withdrawn=False)
