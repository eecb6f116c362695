from django.contrib import admin

from contributors.admin import ContributorAdmin
from contributors.models import Contributor

from .services import contributor_trust_set

TRUST_FIELDS = {"trust_level", "trust_level_locked"}


class TrustedContributorAdmin(ContributorAdmin):
    """The contributor admin, with a moderator's change of trust level going through the trust
    rules (a recount when it changes whether the contributor's judgements count), and the
    agreement record, reliability estimate and demotion state shown read-only."""

    AGREEMENT_FIELDS = [
        "agreement_judged",
        "agreement_agreed",
        "agreement_alarm",
        "reliability",
        "demoted_at",
        "probation_gold_answered",
        "probation_gold_correct",
        "counting_since",
    ]
    readonly_fields = [*ContributorAdmin.readonly_fields, *AGREEMENT_FIELDS]
    fields = [*ContributorAdmin.fields, *AGREEMENT_FIELDS]
    list_display = [*ContributorAdmin.list_display, "reliability", "demoted_at"]
    list_filter = [*ContributorAdmin.list_filter, ("demoted_at", admin.EmptyFieldListFilter)]

    def save_model(self, request, obj, form, change):
        if change and TRUST_FIELDS & set(form.changed_data):
            level, locked = obj.trust_level, obj.trust_level_locked
            obj.refresh_from_db(fields=list(TRUST_FIELDS))
            super().save_model(request, obj, form, change)
            contributor_trust_set(contributor=obj, level=level, locked=locked, by=request.user)
            return
        super().save_model(request, obj, form, change)


admin.site.unregister(Contributor)
admin.site.register(Contributor, TrustedContributorAdmin)
