"""Live site totals: computed from the database, pushed to open home pages over websockets."""

from core.live import group_send

TOTALS_GROUP = "site-totals"


def site_totals() -> dict[str, int]:
    from contributors.models import Contributor
    from donations.models import Image

    return {
        "images": Image.objects.public().count(),
        "pending": Image.objects.pending().count(),
        "contributors": Contributor.objects.active().count(),
    }


def totals_announce() -> None:
    """Tell every connected home page the new totals (call after commit)."""
    group_send(TOTALS_GROUP, {"type": "totals.changed", "totals": site_totals()})


# --- The public activity feed ------------------------------------------------------------------

ACTIVITY_GROUP = "site-activity"
# One message per kind per process in this many seconds: on a busy day the feed is a sample, and
# a vote costs no channel-layer round trip beyond that (per kind and label, a site with many
# labels paid one for nearly every vote).
ACTIVITY_MIN_SECONDS = 2.0
ACTIVITY_TEXT = {
    "validated": "Someone validated “{label}”",
    "labelled": "Someone labelled an image “{label}”",
    "outlined": "Someone outlined a “{label}”",
    "donated": "A photo was donated",
}
_last_sent: dict[str, float] = {}


def _label_name(label_id: int) -> str:
    # Read each time (a message is sent at most every ACTIVITY_MIN_SECONDS per label), so a
    # renamed label is never shown by its old name.
    from labels_app.models import Label

    return Label.objects.filter(pk=label_id).values_list("name", flat=True).first() or ""


def activity_text(*, kind: str, label_id: int | None) -> str:
    return ACTIVITY_TEXT[kind].format(label=_label_name(label_id) if label_id else "")


def activity_send(*, kind: str, label_id: int | None) -> None:
    """Listens to "activity": pushes one line to every open home page (throttled)."""
    import time

    if kind not in ACTIVITY_TEXT:
        return
    now = time.monotonic()
    if now - _last_sent.get(kind, -ACTIVITY_MIN_SECONDS) < ACTIVITY_MIN_SECONDS:
        return
    _last_sent[kind] = now
    group_send(
        ACTIVITY_GROUP,
        {"type": "activity.happened", "text": activity_text(kind=kind, label_id=label_id)},
    )
