"""Live site totals: computed from the database, pushed to open home pages over websockets."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

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
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(
        TOTALS_GROUP, {"type": "totals.changed", "totals": site_totals()}
    )
