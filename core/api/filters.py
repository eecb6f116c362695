"""django-filter filters whose values are parsed like every other request value (core.params)."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from core.api.fields import MAX_COUNT
from core.params import aware_datetime_or_none


class AwareDateTimeField(forms.Field):
    default_error_messages = {
        "invalid": "Enter an ISO 8601 date or date-time with a time zone, e.g. 2026-01-31 or "
        "2026-01-31T12:00:00Z."
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        moment = aware_datetime_or_none(str(value))
        if moment is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return moment


class WholeNumberField(forms.IntegerField):
    """Digits only: Django's IntegerField also takes "1.0" and " 1e0"-like spellings."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


@extend_schema_field({"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]})
class AwareDateTimeFilter(django_filters.Filter):
    """A date-time that exists in UTC (no overflow near year 1 or 9999), time zone required;
    a date alone means its midnight UTC."""

    field_class = AwareDateTimeField


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": MAX_COUNT})
class CountFilter(django_filters.NumberFilter):
    """A whole number within a PositiveIntegerField's range (pixel sizes, counts)."""

    field_class = WholeNumberField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_COUNT)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 1})
class ShareFilter(django_filters.NumberFilter):
    """A number from 0 to 1 (probabilities, shares)."""

    field_class = forms.FloatField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0.0)
        kwargs.setdefault("max_value", 1.0)
        super().__init__(*args, **kwargs)
