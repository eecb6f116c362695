"""The moderators' live dashboard: counts and the newest reports and alerts, pushed to staff
over websockets (the Redis channel layer in the scaled mode, so every process's events reach
every open dashboard; the in-process layer in the embedded mode)."""

from django.urls import reverse

from core.live import group_send
from donations.models import Image

from .models import Alert, AlertState, ReportCase

MODERATORS_GROUP = "moderators"
RECENT = 10


def dashboard_counts() -> dict[str, int]:
    return {
        "open_reports": ReportCase.objects.open().count(),
        "hidden": Image.objects.hidden().count(),
        "pending": Image.objects.pending().count(),
        "open_alerts": Alert.objects.filter(state=AlertState.OPEN).count(),
    }


def case_line(case: ReportCase) -> dict:
    return {
        "id": case.pk,
        "text": f"{case} · score {case.score:.2f}" + (" · hidden" if case.hidden_at else ""),
        "url": reverse("admin:moderation_reportcase_change", args=[case.pk]),
    }


def alert_line(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "text": f"{alert.get_kind_display()}: {alert.summary}",
        "url": reverse("admin:moderation_alert_change", args=[alert.pk]),
    }


def dashboard_state() -> dict:
    cases = ReportCase.objects.open().select_related("image").order_by("-created_at")[:RECENT]
    alerts = Alert.objects.filter(state=AlertState.OPEN).order_by("-last_raised_at")[:RECENT]
    return {
        "counts": dashboard_counts(),
        "reports": [case_line(case) for case in cases],
        "alerts": [alert_line(alert) for alert in alerts],
    }


def _send(message: dict) -> None:
    group_send(MODERATORS_GROUP, {"type": "dashboard.update", **message})


def report_send(case_id: int) -> None:
    """A report was counted (called after commit)."""
    case = ReportCase.objects.filter(pk=case_id).select_related("image").first()
    if case is not None:
        _send({"counts": dashboard_counts(), "report": case_line(case)})


def alert_send(*, alert_id: int) -> None:
    """Listens to "moderation.alert" (after commit)."""
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is not None:
        _send({"counts": dashboard_counts(), "alert": alert_line(alert)})


def counts_send() -> None:
    """Listens to "images.changed": the pending and hidden counts moved."""
    _send({"counts": dashboard_counts()})
