from django.contrib import admin

from labels_app.admin import ImageLabelAdmin
from labels_app.models import Answer, GoldPool

from .models import ValidationQuestion
from .services import gold_mark


@admin.register(ValidationQuestion)
class ValidationQuestionAdmin(ImageLabelAdmin):
    """Image-labels as validation questions; moderators make gold items (known answers) here."""

    actions = ["mark_training_yes", "mark_training_no", "mark_hidden_yes", "mark_hidden_no"]

    def _gold(self, request, queryset, answer, pool):
        for image_label in queryset:
            gold_mark(image_label=image_label, answer=answer, pool=pool, by=request.user)
            self.log_change(request, image_label, f"Marked as {pool} gold: {answer}.")
        self.message_user(
            request, f"{queryset.count()} item(s) are now {pool} gold with answer “{answer}”."
        )

    @admin.action(
        description="Training item (newcomers learn with feedback): the image DOES show it",
        permissions=["change"],
    )
    def mark_training_yes(self, request, queryset):
        self._gold(request, queryset, Answer.YES, GoldPool.TRAINING)

    @admin.action(
        description="Training item (newcomers learn with feedback): the image does NOT show it",
        permissions=["change"],
    )
    def mark_training_no(self, request, queryset):
        self._gold(request, queryset, Answer.NO, GoldPool.TRAINING)

    @admin.action(
        description="Hidden check (never any feedback): the image DOES show it",
        permissions=["change"],
    )
    def mark_hidden_yes(self, request, queryset):
        self._gold(request, queryset, Answer.YES, GoldPool.HIDDEN)

    @admin.action(
        description="Hidden check (never any feedback): the image does NOT show it",
        permissions=["change"],
    )
    def mark_hidden_no(self, request, queryset):
        self._gold(request, queryset, Answer.NO, GoldPool.HIDDEN)
