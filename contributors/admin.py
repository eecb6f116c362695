from django.contrib import admin

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
        "user",
        "trust_level",
        "trust_level_locked",
        "banned_until",
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
