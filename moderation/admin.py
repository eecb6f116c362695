from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from contributors.models import Contributor
from core.errors import DomainError
from core.params import id_or_none
from donations.admin import thumbnail_tag

from .consumers import may_moderate
from .live import dashboard_state
from .models import Alert, Ban, CaseState, ModerationAction, Report, ReportCase, Revert
from .querysets import active_q, ban_networks_of
from .services import (
    alerts_acknowledge,
    ban_create,
    ban_fields_check,
    ban_lift,
    case_dismiss,
    case_remove,
    report_weight,
    reporter_accuracy,
    revert_preview,
    revert_start,
    revert_undo,
    target_of,
)


class RecordAdmin(admin.ModelAdmin):
    """Rows the services write (report cases, alerts, the audit trail): read in the admin,
    never added, edited or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# What each decision button does, and what the moderator is told ({item}: image or outline;
# {culprit}: its donor or author).
DECISIONS = {
    "dismiss": ("Reports dismissed; the {item} is back.", {}),
    "remove": ("{Item} removed.", {}),
    "remove_ban": ("{Item} removed and its {culprit} banned for good.", {"ban_donor": True}),
}


class CaseStateFilter(admin.SimpleListFilter):
    """Open cases unless asked otherwise: the queue is what the moderator came for."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*CaseState.choices, ("all", "All")]

    def choices(self, changelist):
        for value, title in self.lookup_choices:
            yield {
                "selected": (self.value() or CaseState.OPEN) == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or CaseState.OPEN
        return queryset if value == "all" else queryset.filter(state=value)


@admin.register(ReportCase)
class ReportCaseAdmin(RecordAdmin):
    """The report queue: one row per reported item, highest score first."""

    list_display = [
        "preview",
        "__str__",
        "state",
        "score_display",
        "hidden_at",
        "report_count",
        "created_at",
    ]
    list_display_links = ["preview", "__str__"]
    list_filter = [CaseStateFilter, ("hidden_at", admin.EmptyFieldListFilter)]
    search_fields = ["=image__id"]
    list_select_related = [
        "image",
        "annotation__image_label__image",
        "annotation__image_label__label",
    ]
    show_full_result_count = False

    class Media:
        css = {"all": ["css/admin_review.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(report_total=Count("reports"))

    # A RecordAdmin: cases open with the first report, decisions go through the buttons on the
    # case page, and decided cases stay as the reporters' record.

    @admin.display(description="Preview")
    def preview(self, case):
        image = case.annotation.image_label.image if case.annotation_id else case.image
        return thumbnail_tag(image) if image is not None else "—"

    @admin.display(description="Score", ordering="score")
    def score_display(self, case):
        return f"{case.score:.2f}"

    @admin.display(description="Reports", ordering="report_total")
    def report_count(self, case):
        return case.report_total

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        dashboard = self.admin_site.admin_view(self.dashboard_view)
        return [
            path("<id:case_id>/decide/", decide, name="moderation_reportcase_decide"),
            path("dashboard/", dashboard, name="moderation_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_view(self, request):
        """Reports, alerts and the pending and hidden counts, live (ws/moderation/)."""
        if not may_moderate(request.user):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Moderation dashboard",
            "state": dashboard_state(),
        }
        return TemplateResponse(request, "admin/moderation/dashboard.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The case: the image, every report with its reporter's trust and accuracy, and the
        three decisions (one key each)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        case = get_object_or_404(
            ReportCase.objects.select_related(
                "image__donor__user",
                "annotation__author__user",
                "annotation__image_label__label",
                "decided_by",
            ).prefetch_related(
                Prefetch(
                    "reports",
                    Report.objects.select_related("reporter__user", "reporter__reporter_record"),
                )
            ),
            pk=object_id,
        )
        reports = []
        for report in case.reports.all():
            # Selected with the report: no query per reporter.
            record = getattr(report.reporter, "reporter_record", None)
            reports.append(
                {
                    "report": report,
                    "accuracy": reporter_accuracy(record),
                    "decided": record.decided if record else 0,
                    "current_weight": report_weight(report.reporter, record),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(case),
            "case": case,
            "reports": reports,
            "can_decide": request.user.has_perm("moderation.decide_reportcase"),
            "can_ban": request.user.has_perm("moderation.add_ban"),
            "history_url": actions_url(*target_of(case.target)),
            "image_id": case.annotation.image_label.image_id
            if case.annotation_id
            else case.image_id,
        }
        return TemplateResponse(request, "admin/moderation/reportcase/case.html", context)

    def decide_view(self, request, case_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        decision = request.POST.get("decision", "")
        if decision not in DECISIONS:
            self.message_user(request, f"Unknown decision {decision!r}.", messages.ERROR)
            return redirect("admin:moderation_reportcase_change", case_id)
        done, options = DECISIONS[decision]
        reason = request.POST.get("reason", "").strip()[:500]
        try:
            if decision == "dismiss":
                case = case_dismiss(case_id=case_id, moderator=request.user, reason=reason)
            else:
                case = case_remove(
                    case_id=case_id, moderator=request.user, reason=reason, **options
                )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect("admin:moderation_reportcase_change", case_id)
        item = "outline" if case.annotation_id else "image"
        culprit = "author" if case.annotation_id else "donor"
        self.message_user(
            request,
            done.format(item=item, Item=item.capitalize(), culprit=culprit),
            messages.SUCCESS,
        )
        following = ReportCase.objects.open().order_by("-score", "created_at").first()
        if following is not None:
            return redirect("admin:moderation_reportcase_change", following.pk)
        return redirect("admin:moderation_reportcase_changelist")


def actions_url(target_type: str, target_id) -> str:
    """The audit trail of one object, for links from its admin pages."""
    changelist = reverse("admin:moderation_moderationaction_changelist")
    return f"{changelist}?target_type={target_type}&target_id={target_id}"


class ActiveBanFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "In force"), ("no", "Expired or lifted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(active_q())
        if self.value() == "no":
            return queryset.exclude(active_q())
        return queryset


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time boxes, each with a name a screen reader can say."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = "Ban ends on (date)"
        self.widgets[1].attrs["aria-label"] = "Ban ends at (time)"


class BanForm(forms.ModelForm):
    NETWORK_CHOICES = [
        ("", "Only the contributor"),
        ("address", "Also their address (IPv4 /32, IPv6 /64)"),
        ("wide", "Also their wider network (IPv4 /24, IPv6 /64)"),
    ]
    contributor_network = forms.ChoiceField(
        choices=NETWORK_CHOICES,
        required=False,
        label="Their network",
        help_text="The network of the contributor's latest write; new anonymous identities from "
        "it cannot write either.",
    )

    class Meta:
        model = Ban
        fields = ["contributor", "contributor_network", "network", "until", "reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3}), "until": LabelledSplitDateTime}
        help_texts = {
            "network": "Or a network alone, e.g. 203.0.113.0/24 (IPv4 /32 or /24, IPv6 /64).",
            "until": "Empty: for good.",
        }

    def clean(self):
        data = super().clean()
        contributor = data.get("contributor")
        choice = data.get("contributor_network")
        if choice:
            if contributor is None or not contributor.last_network:
                raise forms.ValidationError(
                    "That contributor's network is not known (they have not written since "
                    "networks were recorded); name the network yourself."
                )
            networks = ban_networks_of(contributor.last_network)
            if data.get("network"):
                raise forms.ValidationError("Name one network: theirs or another, not both.")
            data["network"] = networks[0] if choice == "address" else networks[-1]
        if self.errors:
            return data
        try:  # the service's own rules, shown on the form instead of failing the save
            data["network"], data["reason"] = ban_fields_check(
                contributor=contributor,
                network=data.get("network", ""),
                until=data.get("until"),
                reason=data.get("reason", ""),
            )
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        self.instance.network, self.instance.reason = data["network"], data["reason"]
        return data


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    form = BanForm
    list_display = [
        "__str__",
        "contributor",
        "network",
        "until_display",
        "in_force",
        "reason",
        "created_by",
        "created_at",
        "lifted_at",
    ]
    list_filter = [ActiveBanFilter, ("network", admin.EmptyFieldListFilter)]
    search_fields = ["=contributor__id", "contributor__user__username", "network", "reason"]
    list_select_related = ["contributor__user", "created_by"]
    raw_id_fields = ["contributor"]
    actions = ["lift_selected"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).with_active()

    def has_change_permission(self, request, obj=None):
        return False  # A ban is lifted (and audited), never edited.

    def has_delete_permission(self, request, obj=None):
        return False

    def has_lift_permission(self, request):
        return request.user.has_perm("moderation.add_ban")

    @admin.display(description="Until", ordering="until")
    def until_display(self, ban):
        return ban.until or "for good"

    @admin.display(description="In force", boolean=True)
    def in_force(self, ban):
        return ban.is_active

    def save_model(self, request, obj, form, change):
        # The service, not the form, makes the ban: it also blocks the contributor's writes,
        # drops the network cache and writes the audit trail.
        ban = ban_create(
            contributor=obj.contributor,
            network=obj.network,
            until=obj.until,
            reason=obj.reason,
            moderator=request.user,
        )
        obj.pk, obj.created_at, obj.created_by = ban.pk, ban.created_at, ban.created_by
        obj._state.adding = False

    @admin.action(description="Lift the selected bans", permissions=["lift"])
    def lift_selected(self, request, queryset):
        lifted = 0
        for ban in queryset.filter(active_q()):
            try:
                ban_lift(ban_id=ban.pk, moderator=request.user)
            except DomainError:
                continue  # lifted by someone else meanwhile
            lifted += 1
        self.message_user(
            request,
            ngettext("%(count)d ban lifted.", "%(count)d bans lifted.", lifted) % {"count": lifted},
            messages.SUCCESS,
        )


class ActionTargetFilter(admin.SimpleListFilter):
    """The trail of one object (linked from its admin page), or all objects of one kind."""

    title = "target"
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        types = ModerationAction.objects.values_list("target_type", flat=True).distinct()
        return [(value, value) for value in types.order_by("target_type")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        queryset = queryset.filter(target_type=self.value())
        target_id = request.GET.get("target_id")
        return queryset.filter(target_id=target_id) if target_id else queryset

    def expected_parameters(self):
        return [self.parameter_name, "target_id"]


@admin.register(ModerationAction)
class ModerationActionAdmin(RecordAdmin):
    """The audit trail: read-only, written by the services that decide."""

    list_display = ["created_at", "actor_display", "kind", "target_link", "reason"]
    list_filter = ["kind", ActionTargetFilter, "actor", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=target_id", "reason", "actor__username"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "actor",
        "kind",
        "target_type",
        "target_id",
        "reason",
        "before",
        "after",
    ]
    fields = readonly_fields
    show_full_result_count = False

    @admin.display(description="By", ordering="actor")
    def actor_display(self, action):
        return action.actor or "the site (after reports)"

    @admin.display(description="Target")
    def target_link(self, action):
        app_label, _, model_name = action.target_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[action.target_id])
        except Exception:  # a target type without an admin page
            return f"{action.target_type} {action.target_id}"
        return format_html('<a href="{}">{} {}</a>', url, model_name, action.target_id)


def contributor_ban_url(contributor: Contributor) -> str:
    return f"{reverse('admin:moderation_ban_add')}?contributor={contributor.pk}"


@admin.register(Alert)
class AlertAdmin(RecordAdmin):
    """Trouble raised in the background; acknowledge, or act from the links (ban, revert)."""

    list_display = ["last_raised_at", "kind", "summary", "target_link", "count", "state"]
    list_filter = ["state", "kind", ("last_raised_at", admin.DateFieldListFilter)]
    search_fields = ["=target_id", "summary"]
    readonly_fields = [
        "kind",
        "state",
        "summary",
        "target_link",
        "involved",
        "details",
        "count",
        "created_at",
        "last_raised_at",
        "acknowledged_by",
        "acknowledged_at",
    ]
    fields = readonly_fields
    actions = ["acknowledge_selected"]
    show_full_result_count = False

    def has_acknowledge_permission(self, request):
        return request.user.has_perm("moderation.view_alert")

    @admin.display(description="About")
    def target_link(self, alert):
        if alert.target_type == "network":
            ban = f"{reverse('admin:moderation_ban_add')}?network={alert.target_id}"
            return format_html('{} · <a href="{}">Ban this network…</a>', alert.target_id, ban)
        app_label, _, model_name = alert.target_type.partition(".")
        url = reverse(f"admin:{app_label}_{model_name}_change", args=[alert.target_id])
        return format_html('<a href="{}">{} {}</a>', url, model_name, alert.target_id)

    @admin.display(description="Contributors involved")
    def involved(self, alert):
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> · <a href="{}">Ban…</a> · <a href="{}">Revert…</a></li>',
            (
                (
                    reverse("admin:contributors_contributor_change", args=[contributor.pk]),
                    contributor,
                    f"{reverse('admin:moderation_ban_add')}?contributor={contributor.pk}",
                    f"{reverse('admin:moderation_revert_add')}?contributor={contributor.pk}",
                )
                for contributor in alert.contributors.select_related("user")
            ),
        )
        return format_html("<ul>{}</ul>", rows) if rows else "—"

    @admin.action(description="Acknowledge the selected alerts", permissions=["acknowledge"])
    def acknowledge_selected(self, request, queryset):
        closed = alerts_acknowledge(
            alert_ids=list(queryset.values_list("pk", flat=True)), moderator=request.user
        )
        self.message_user(
            request,
            ngettext("%(count)d alert acknowledged.", "%(count)d alerts acknowledged.", closed)
            % {"count": closed},
            messages.SUCCESS,
        )


class RevertForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit trail.",
        error_messages={"required": "Give the reason for the revert."},
    )
    ban = forms.BooleanField(required=False, label="Also ban them for good")


@admin.register(Revert)
class RevertAdmin(admin.ModelAdmin):
    """The vandal button: preview a contributor's work, revert it in one step, undo it."""

    list_display = ["__str__", "contributor", "state", "progress", "created_by", "created_at"]
    list_filter = ["state"]
    search_fields = ["=contributor__id", "contributor__user__username", "reason"]
    list_select_related = ["contributor__user", "created_by"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False  # Reverts are started and undone, never edited.

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Progress")
    def progress(self, revert):
        return f"{revert.done} of {revert.total} ({revert.percent:g} %)"

    def get_urls(self):
        undo = self.admin_site.admin_view(self.undo_view)
        return [
            path("<id:revert_id>/undo/", undo, name="moderation_revert_undo"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        """A preview of everything the contributor did, and the form that reverts it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        contributor = Contributor.objects.filter(
            pk=id_or_none(request.POST.get("contributor") or request.GET.get("contributor"))
        ).first()
        if contributor is None:
            self.message_user(
                request,
                "Open “Revert…” from the contributor's admin page (or an alert about them).",
                messages.WARNING,
            )
            return redirect("admin:contributors_contributor_changelist")
        form = RevertForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                revert = revert_start(
                    contributor=contributor,
                    moderator=request.user,
                    reason=form.cleaned_data["reason"],
                    ban=form.cleaned_data["ban"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, "Revert started.", messages.SUCCESS)
                return redirect("admin:moderation_revert_change", revert.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Revert {contributor}",
            "contributor": contributor,
            "preview": revert_preview(contributor),
            "form": form,
        }
        return TemplateResponse(request, "admin/moderation/revert/preview.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        revert = get_object_or_404(
            Revert.objects.select_related("contributor__user", "created_by", "undone_by", "ban"),
            pk=id_or_none(object_id),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(revert),
            "revert": revert,
            "can_undo": request.user.has_perm("moderation.undo_revert"),
            "history_url": actions_url("contributors.contributor", revert.contributor_id),
        }
        return TemplateResponse(request, "admin/moderation/revert/revert.html", context)

    def undo_view(self, request, revert_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            revert_undo(revert_id=revert_id, moderator=request.user)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, "Undo started.", messages.SUCCESS)
        return redirect("admin:moderation_revert_change", revert_id)
