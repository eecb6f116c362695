"""The admin's "what the site needs next" panel: training items for newcomers, hidden checks."""

from django import template
from django.conf import settings
from django.urls import reverse

from labels_app.models import GoldPool
from validations.models import ValidationQuestion

register = template.Library()


@register.inclusion_tag("admin/validations/onboarding.html", takes_context=True)
def validation_onboarding(context):
    request = context["request"]
    if not request.user.has_perm("validations.change_validationquestion"):
        return {"visible": False}
    training = ValidationQuestion.objects.gold(GoldPool.TRAINING).count()
    hidden = ValidationQuestion.objects.gold(GoldPool.HIDDEN).count()
    wanted = settings.TRAINING_GOLD_TARGET
    return {
        "visible": True,
        "training": training,
        "hidden": hidden,
        "missing": max(0, wanted - training),
        "wanted": wanted,
        "questions_url": reverse("admin:validations_validationquestion_changelist")
        + "?state__exact=open",
        "validate_url": reverse("validate"),
    }
