from django import forms

from core.params import MAX_ID

from .models import ReportReason


class ReportForm(forms.Form):
    """The report page's form (the dialog on every page posts the same fields to the API)."""

    image = forms.UUIDField(widget=forms.HiddenInput, required=False)
    annotation = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1, max_value=MAX_ID
    )
    reason = forms.ChoiceField(
        choices=ReportReason.choices,
        widget=forms.RadioSelect,
        label="What is wrong with it?",
        error_messages={"required": "Choose what is wrong with the image."},
    )
    text = forms.CharField(
        required=False,
        max_length=500,
        label="Details (needed for “Other”, at most 500 characters)",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
        error_messages={"max_length": "The details can be at most 500 characters long."},
    )
