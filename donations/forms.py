from django import forms
from django.conf import settings

from core.errors import DomainError

from .labelling import donation_labels_clean


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(MultipleImageField, self).clean(item, initial) for item in files]


class DonationForm(forms.Form):
    files = MultipleImageField(
        label="Photos",
        widget=MultipleFileInput(
            attrs={
                "accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,image/avif,"
                ".heic,.heif,.avif"
            }
        ),
        error_messages={"required": "Choose at least one photo to donate."},
    )
    labels = forms.CharField(
        required=False,
        max_length=1300,
        label="What is in these photos? (optional)",
        help_text="Comma-separated, e.g. “dog, park, tree”; others will check them.",
    )
    cc0 = forms.BooleanField(
        label=(
            "I took these photos (or own their rights) and dedicate them to the public domain "
            "under CC0 1.0: anyone may use them for any purpose, without asking."
        ),
        error_messages={
            "required": "Please confirm the CC0 public-domain dedication to donate photos."
        },
    )

    def clean_labels(self):
        texts = [text for text in self.cleaned_data["labels"].split(",") if text.strip()]
        if not texts:
            return []
        try:
            return donation_labels_clean(texts)
        except DomainError as error:
            raise forms.ValidationError(error.message) from None

    def clean_files(self):
        files = self.cleaned_data["files"]
        limit = settings.DONATION_MAX_FILES_PER_FORM
        if len(files) > limit:
            raise forms.ValidationError(f"At most {limit} photos can be sent at once.")
        return files
