"""Links every admin page of a moderated object carries to its audit trail (moderation's admin;
a URL by name, not an import, so the apps below moderation stay unaware of it)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html


def history_url(obj) -> str:
    changelist = reverse("admin:moderation_moderationaction_changelist")
    # Proxies (a validation question) by their concrete model, as the trail names them.
    return (
        f"{changelist}?target_type={obj._meta.concrete_model._meta.label_lower}&target_id={obj.pk}"
    )


class ModerationHistoryMixin:
    """Adds `moderation_history` for a ModelAdmin's readonly_fields and fields."""

    @admin.display(description="Moderation history")
    def moderation_history(self, obj):
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">Every moderation decision on it</a>', history_url(obj))
