from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin_links import history_url

from .models import ApiToken, Contributor


@admin.register(Contributor)
class ContributorAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "__str__",
        "trust_level",
        "trust_level_locked",
        "points",
        "banned_until",
        "created_at",
    ]
    list_filter = ["trust_level", "trust_level_locked", ("user", admin.EmptyFieldListFilter)]
    search_fields = ["=id", "user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "merged_into"]
    readonly_fields = [
        "moderation",
        "banned_until",
        "last_network",
        "created_at",
        "points",
        "merged_into",
        "gold_answered",
        "gold_correct",
        "votes_cast",
        "votes_counted",
        "training_passed_at",
    ]
    fields = [
        "moderation",
        "user",
        "trust_level",
        "trust_level_locked",
        "banned_until",
        "last_network",
        "votes_counted",
        "training_passed_at",
        "gold_answered",
        "gold_correct",
        "votes_cast",
        "points",
        "merged_into",
        "created_at",
    ]
    show_full_result_count = False

    @admin.display(description="Moderation")
    def moderation(self, contributor):
        # Bans are made (and audited) in the moderation admin; these are links, not imports.
        if contributor.pk is None:
            return "—"
        ban = f"{reverse('admin:moderation_ban_add')}?contributor={contributor.pk}"
        bans = f"{reverse('admin:moderation_ban_changelist')}?q={contributor.pk}"
        trail = history_url(contributor)
        revert = f"{reverse('admin:moderation_revert_add')}?contributor={contributor.pk}"
        return format_html(
            '<a href="{}">Ban…</a> · <a href="{}">Revert their work…</a> · '
            '<a href="{}">their bans</a> · <a href="{}">history</a>',
            ban,
            revert,
            bans,
            trail,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "=prefix"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]
    fields = [*readonly_fields, "revoked_at"]

    def has_add_permission(self, request):
        return False  # Keys are created by their owners on the profile page and shown only once.
