from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import ApiToken


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        required=False,
        help_text="Optional; only used to reset your password if you forget it.",
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "Token name"}
        help_texts = {"name": "What the token is for, e.g. “bulk upload script”."}
        error_messages = {
            "name": {"required": "Give the token a name so you can recognise it later."}
        }
