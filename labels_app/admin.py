from django.contrib import admin, messages
from django.utils.html import format_html

from core.admin_links import ModerationHistoryMixin
from core.errors import DomainError

from .models import ImageLabel, Label, LabelSuggestion, LabelTerm
from .services import suggestion_accept, suggestion_reject


class GoldFilter(admin.SimpleListFilter):
    title = "gold"
    parameter_name = "gold"

    def lookups(self, request, model_admin):
        return [("yes", "Gold items"), ("no", "Not gold")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(gold_answer="")
        if self.value() == "no":
            return queryset.filter(gold_answer="")
        return queryset


class LabelTermInline(admin.TabularInline):
    model = LabelTerm
    extra = 0
    fields = ["display", "term", "kind"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    """Catalog labels are edited in labels_app/catalog/ and loaded by sync_labels."""

    list_display = ["name", "plural", "kind", "parent", "group", "active"]
    list_filter = ["kind", "active", "origin", "group"]
    search_fields = ["name", "terms__term", "description"]
    list_select_related = ["parent"]
    inlines = [LabelTermInline]
    readonly_fields = [
        "name",
        "plural",
        "description",
        "kind",
        "parent",
        "parts",
        "values",
        "group",
        "active",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImageLabel)
class ImageLabelAdmin(ModerationHistoryMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "label",
        "image_preview",
        "state",
        "probability",
        "yes_count",
        "no_count",
        "counted_votes",
        "gold_answer",
        "created_at",
    ]
    list_filter = ["state", GoldFilter, "in_queue", "label__kind"]
    search_fields = ["=id", "label__name", "=image__id"]
    list_select_related = ["label", "image"]
    raw_id_fields = ["image", "label", "added_by"]
    readonly_fields = [
        "moderation_history",
        "image_preview",
        "image",
        "label",
        "added_by",
        "created_at",
        "yes_count",
        "no_count",
        "unsure_count",
        "counted_votes",
        "evidence",
        "probability",
        "state",
        "gold_answer",
        "in_queue",
    ]
    fields = readonly_fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    @admin.display(description="Image")
    def image_preview(self, image_label):
        return format_html(
            '<img src="{}" alt="" width="96" loading="lazy">', image_label.image.file_url("small")
        )


@admin.register(LabelSuggestion)
class LabelSuggestionAdmin(ModerationHistoryMixin, admin.ModelAdmin):
    """Words contributors used that are not in the catalog. To merge a spelling into an existing
    label, pick it in “label” and save, then accept."""

    list_display = ["text", "term", "use_count", "state", "label", "decided_by", "decided_at"]
    list_filter = ["state"]
    search_fields = ["term", "text"]
    autocomplete_fields = ["label"]
    readonly_fields = [
        "moderation_history",
        "text",
        "term",
        "use_count",
        "state",
        "decided_by",
        "decided_at",
        "created_at",
    ]
    fields = [
        "moderation_history",
        "text",
        "term",
        "use_count",
        "state",
        "label",
        "decided_by",
        "decided_at",
        "created_at",
    ]
    actions = ["accept_selected", "reject_selected"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Accept: as an alias of the chosen label, or as a new label",
        permissions=["change"],
    )
    def accept_selected(self, request, queryset):
        accepted = 0
        for suggestion in queryset.select_related("label"):
            try:
                label = suggestion_accept(
                    suggestion=suggestion, moderator=request.user, alias_of=suggestion.label
                )
            except DomainError as error:
                self.message_user(request, f"{suggestion.text}: {error.message}", messages.ERROR)
                continue
            accepted += 1
            self.log_change(request, suggestion, f"Accepted into the catalog as {label.name}.")
        if accepted:
            self.message_user(request, f"{accepted} suggestion(s) accepted.", messages.SUCCESS)

    @admin.action(description="Reject", permissions=["change"])
    def reject_selected(self, request, queryset):
        for suggestion in queryset:
            suggestion_reject(suggestion=suggestion, moderator=request.user)
        self.message_user(request, "Rejected.", messages.SUCCESS)
