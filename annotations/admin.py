from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from contributors.services import contributor_claim_for_user
from core.admin_links import ModerationHistoryMixin
from core.errors import DomainError

from .models import (
    Annotation,
    AnnotationRevision,
    Lease,
    RefinementAnswer,
    RefinementQuestion,
    ReviewAnswer,
)
from .services import annotation_gold_mark, annotation_revision_restore


class RevisionInline(admin.TabularInline):
    model = AnnotationRevision
    extra = 0
    can_delete = False
    fields = ["number", "author", "created_at", "restored_from", "shape_count", "restore"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Shapes")
    def shape_count(self, revision):
        return len(revision.shapes)

    @admin.display(description="")
    def restore(self, revision):
        if revision.number == revision.annotation.revision:
            return "current"
        url = reverse(
            "admin:annotations_annotation_restore", args=[revision.annotation_id, revision.number]
        )
        return format_html('<a href="{}">Restore…</a>', url)


@admin.register(Annotation)
class AnnotationAdmin(ModerationHistoryMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "image_label",
        "revision",
        "author",
        "review_state",
        "gold_answer",
        "updated_at",
        "preview",
    ]
    list_filter = ["review_state", "gold_answer"]
    list_select_related = ["image_label__label", "image_label__image", "author__user"]
    search_fields = ["=id", "image_label__label__name", "=image_label__image__id"]
    readonly_fields = [
        "moderation_history",
        "image_label",
        "revision",
        "shapes",
        "coverage",
        "author",
        "created_at",
        "updated_at",
        "review_state",
        "gold_answer",
    ]
    fields = readonly_fields
    inlines = [RevisionInline]
    actions = ["mark_gold_good", "mark_gold_bad"]
    show_full_result_count = False

    def _gold(self, request, queryset, answer):
        for annotation in queryset:
            annotation_gold_mark(annotation=annotation, answer=answer, by=request.user)
            self.log_change(request, annotation, f"Marked as gold: {answer}.")
        self.message_user(
            request,
            f"{queryset.count()} annotation(s) are now gold with the verdict “{answer}”.",
        )

    @admin.action(description="Mark as gold: the outlines are GOOD", permissions=["change"])
    def mark_gold_good(self, request, queryset):
        self._gold(request, queryset, ReviewAnswer.GOOD)

    @admin.action(description="Mark as gold: the outlines are BAD", permissions=["change"])
    def mark_gold_bad(self, request, queryset):
        self._gold(request, queryset, ReviewAnswer.BAD)

    def has_add_permission(self, request):
        return False

    @admin.display(description="Image")
    def preview(self, annotation):
        image = annotation.image_label.image
        return format_html(
            '<a href="{}"><img src="{}" alt="" width="96" loading="lazy"></a>',
            image.get_absolute_url(),
            image.file_url("small"),
        )

    def get_urls(self):
        restore = self.admin_site.admin_view(self.restore_view)
        return [
            path(
                "<id:pk>/restore/<id:number>/",
                restore,
                name="annotations_annotation_restore",
            ),
            *super().get_urls(),
        ]

    def restore_view(self, request, pk, number):
        """Bring back an older revision as the newest one (moderators with change permission)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        annotation = get_object_or_404(Annotation, pk=pk)
        if request.method != "POST":
            revision = get_object_or_404(annotation.revisions, number=number)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Restore revision {number}?",
                "annotation": annotation,
                "revision": revision,
            }
            return TemplateResponse(
                request, "admin/annotations/annotation/restore_confirm.html", context
            )
        moderator = contributor_claim_for_user(anonymous=None, user=request.user)
        try:
            annotation = annotation_revision_restore(
                annotation=annotation, number=number, moderator=moderator
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.log_change(request, annotation, f"Restored revision {number}.")
            self.message_user(
                request, f"Revision {number} restored as revision {annotation.revision}."
            )
        return redirect("admin:annotations_annotation_change", pk)


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ["id", "image_label", "contributor", "created_at", "expires_at"]
    list_select_related = ["image_label__label", "contributor__user"]
    readonly_fields = ["image_label", "contributor", "created_at", "expires_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False


class RefinementAnswerInline(admin.TabularInline):
    model = RefinementAnswer
    extra = 0
    can_delete = False
    fields = ["contributor", "value", "counted", "weight", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RefinementQuestion)
class RefinementQuestionAdmin(admin.ModelAdmin):
    """Quiz questions with their answers, to see how a refinement value came about."""

    list_display = ["id", "text", "shape_index", "revision", "state", "value", "answer_count"]
    list_filter = ["state", "refinement"]
    list_select_related = ["refinement", "annotation__image_label__label"]
    search_fields = ["=annotation__id", "annotation__image_label__label__name"]
    readonly_fields = [
        "annotation",
        "revision",
        "shape_index",
        "refinement",
        "state",
        "value",
        "answer_count",
        "dont_know_count",
        "created_at",
        "decided_at",
    ]
    fields = readonly_fields
    inlines = [RefinementAnswerInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
