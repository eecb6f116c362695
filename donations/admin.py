from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from core.admin_links import ModerationHistoryMixin
from core.errors import DomainError

from .models import Image, ImageStatus
from .services import image_review

REVIEW_BATCH = 60


def action_chosen_count(request, queryset) -> int:
    """How many images the moderator ticked, counted before the action changes any.

    The action's queryset carries the list's filters, so on "status: pending" it shrinks as
    images are unlocked, and it leaves out ticked images another moderator decided meanwhile.
    """
    if request.POST.get("select_across") == "1":
        return queryset.count()
    return len(set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)))


class NearDuplicateFilter(admin.SimpleListFilter):
    title = "near-duplicate"
    parameter_name = "near_duplicate"

    def lookups(self, request, model_admin):
        return [("yes", "Flagged as near-duplicate"), ("no", "Not flagged")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(near_duplicate_of__isnull=False)
        if self.value() == "no":
            return queryset.filter(near_duplicate_of__isnull=True)
        return queryset


class DonorKindFilter(admin.SimpleListFilter):
    title = "donor"
    parameter_name = "donor_kind"

    def lookups(self, request, model_admin):
        return [("registered", "Registered donors"), ("anonymous", "Anonymous donors")]

    def queryset(self, request, queryset):
        if self.value() == "registered":
            return queryset.filter(donor__user__isnull=False)
        if self.value() == "anonymous":
            return queryset.filter(donor__user__isnull=True)
        return queryset


def thumbnail_tag(image: Image, size: int = 96):
    # The thumbnail is the row's link, so its alt text is the link's name.
    return format_html(
        '<img src="{}" alt="Image {}" width="{}" class="im-admin-thumb" loading="lazy">',
        image.file_url("small"),
        image.pk,
        size,
    )


def screening_text(image: Image) -> str:
    """The automatic nudity screening's verdict, as the review shows it."""
    if image.screening_score is None:
        return image.get_screening_display()
    return f"{image.get_screening_display()} (nudity score {image.screening_score:.2f})"


@admin.register(Image)
class ImageAdmin(ModerationHistoryMixin, admin.ModelAdmin):
    list_display = [
        "preview",
        "id",
        "status",
        "screening_display",
        "donor",
        "dimensions",
        "near_duplicate_link",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    ]
    list_display_links = ["preview", "id"]
    list_filter = [
        "status",
        "screening",
        NearDuplicateFilter,
        DonorKindFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=id", "=sha256", "=phash", "donor__user__username", "=donor__id"]
    list_select_related = ["donor__user", "reviewed_by", "near_duplicate_of"]
    actions = ["unlock_selected", "reject_selected"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "large_preview",
        "moderation_history",
        "id",
        "status",
        "donor",
        "dimensions",
        "media_type",
        "byte_size",
        "original_format",
        "sha256",
        "phash",
        "near_duplicate_link",
        "near_duplicate_distance",
        "screening_display",
        "cc0_confirmed",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = readonly_fields
    show_full_result_count = False
    change_list_template = "admin/donations/image/change_list.html"

    class Media:
        css = {"all": ["css/admin_review.css"]}  # sizes the preview on the change page

    def has_add_permission(self, request):
        return False  # Images only enter through the ingest pipeline.

    def has_review_permission(self, request):
        return request.user.has_perm("donations.review_image")

    @admin.display(description="Preview")
    def preview(self, image):
        return thumbnail_tag(image)

    @admin.display(description="Image")
    def large_preview(self, image):
        return format_html(
            '<a href="{}"><img src="{}" alt="Image {}, open full size" class="im-admin-large"></a>',
            image.file_url("full"),
            image.file_url("large"),
            image.pk,
        )

    @admin.display(description="Screening", ordering="screening_score")
    def screening_display(self, image):
        return screening_text(image)

    @admin.display(description="Size")
    def dimensions(self, image):
        return f"{image.width}×{image.height}"

    @admin.display(description="Near-duplicate of", ordering="near_duplicate_distance")
    def near_duplicate_link(self, image):
        if image.near_duplicate_of_id is None:
            return "—"
        url = reverse("admin:donations_image_change", args=[image.near_duplicate_of_id])
        return format_html(
            '<a href="{}">{}</a> (distance {})',
            url,
            image.near_duplicate_of_id,
            image.near_duplicate_distance,
        )

    def _review(self, request, queryset, decision):
        chosen = action_chosen_count(request, queryset)
        try:
            changed = image_review(
                image_ids=list(queryset.values_list("pk", flat=True)),
                decision=decision,
                reviewer=request.user,
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        for image in changed:
            self.log_change(request, image, f"Set status to {decision}.")
        skipped = chosen - len(changed)
        note = (
            ngettext(
                " (%(count)d was not pending and stayed as it was)",
                " (%(count)d were not pending and stayed as they were)",
                skipped,
            )
            % {"count": skipped}
            if skipped
            else ""
        )
        images = ngettext("%(count)d image", "%(count)d images", len(changed)) % {
            "count": len(changed)
        }
        self.message_user(request, f"{images} {decision}{note}.", messages.SUCCESS)

    @admin.action(description="Unlock selected pending images", permissions=["review"])
    def unlock_selected(self, request, queryset):
        self._review(request, queryset, ImageStatus.UNLOCKED)

    @admin.action(description="Reject selected pending images", permissions=["review"])
    def reject_selected(self, request, queryset):
        self._review(request, queryset, ImageStatus.REJECTED)

    def get_urls(self):
        review = self.admin_site.admin_view(self.review_view)
        decide = self.admin_site.admin_view(self.review_decide_view)
        return [
            path("review/", review, name="donations_image_review"),
            path("review/decide/", decide, name="donations_image_review_decide"),
            *super().get_urls(),
        ]

    def review_view(self, request):
        """A keyboard-driven grid of pending images, oldest first, near-duplicates beside."""
        if not self.has_review_permission(request):
            raise PermissionDenied
        pending = list(
            Image.objects.pending()
            .select_related("donor__user", "near_duplicate_of")
            .order_by("created_at", "id")[:REVIEW_BATCH]
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Review pending donations",
            "images": pending,
            "pending_total": Image.objects.pending().count(),
            "unscreened_total": Image.objects.pending().filter(screening="unavailable").count(),
        }
        return TemplateResponse(request, "admin/donations/image/review.html", context)

    def review_decide_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        wants_json = "application/json" in request.headers.get("Accept", "")
        try:
            changed = image_review(
                image_ids=[request.POST.get("image_id", "")],
                decision=request.POST.get("decision", ""),
                reviewer=request.user,
            )
        except DomainError as error:
            if wants_json:
                return JsonResponse(
                    {"code": error.code, "detail": error.message}, status=error.status
                )
            self.message_user(request, error.message, messages.ERROR)
            return redirect("admin:donations_image_review")
        for image in changed:
            self.log_change(request, image, f"Set status to {image.status} in review.")
        if wants_json:
            if not changed:
                return JsonResponse(
                    {"code": "not_pending", "detail": "This image is no longer pending."},
                    status=409,
                )
            return JsonResponse({"id": str(changed[0].pk), "status": changed[0].status})
        return redirect("admin:donations_image_review")
