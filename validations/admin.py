from django.contrib import admin

from labels_app.admin import ImageLabelAdmin
from labels_app.models import Answer

from .models import ValidationQuestion
from .services import gold_mark


@admin.register(ValidationQuestion)
class ValidationQuestionAdmin(ImageLabelAdmin):
    """Image-labels as validation questions; moderators make gold items (known answers) here."""

    actions = ["mark_gold_yes", "mark_gold_no"]

    def _gold(self, request, queryset, answer):
        for image_label in queryset:
            gold_mark(image_label=image_label, answer=answer)
            self.log_change(request, image_label, f"Marked as gold: {answer}.")
        self.message_user(
            request, f"{queryset.count()} item(s) are now gold with answer “{answer}”."
        )

    @admin.action(description="Mark as gold: the image DOES show the label", permissions=["change"])
    def mark_gold_yes(self, request, queryset):
        self._gold(request, queryset, Answer.YES)

    @admin.action(
        description="Mark as gold: the image does NOT show the label", permissions=["change"]
    )
    def mark_gold_no(self, request, queryset):
        self._gold(request, queryset, Answer.NO)
