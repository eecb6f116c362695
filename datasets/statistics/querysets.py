from __future__ import annotations

from django.db import models


class LabelStatisticsQuerySet(models.QuerySet):
    def needing_help(self) -> LabelStatisticsQuerySet:
        """Active labels with tasks left, the most waiting work first (the partial index
        label_statistics_waiting serves the order)."""
        return self.filter(waiting__gt=0, label__active=True).order_by(
            "-waiting", "-images", "label__name"
        )

    def named_like(self, text: str) -> LabelStatisticsQuerySet:
        """Labels whose name contains `text` (names are lower case)."""
        return self.filter(label__name__contains=text.lower()) if text else self

    def in_order(self, sort: str) -> LabelStatisticsQuerySet:
        """By a column ("images", "-open", "name", ...), ties by name."""
        column = sort.lstrip("-")
        field_name = "label__name" if column == "name" else column
        ordering = [f"-{field_name}" if sort.startswith("-") else field_name]
        if column != "name":
            ordering.append("label__name")
        return self.order_by(*ordering)
