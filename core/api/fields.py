"""Serializer fields for what API bodies carry, with the same bounds as `core.params`."""

from rest_framework import serializers

from core.params import MAX_ID

# PositiveIntegerField's range on every database Django supports.
MAX_COUNT = 2_147_483_647


class IdField(serializers.IntegerField):
    """The id of a row: a whole number from 1 to the 64-bit limit of the id columns."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class CountField(serializers.IntegerField):
    """A positive whole number stored in a PositiveIntegerField (revision numbers, sizes)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_COUNT)
        super().__init__(**kwargs)
