from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .live import ACTIVITY_GROUP, TOTALS_GROUP, site_totals


class SiteTotalsConsumer(AsyncJsonWebsocketConsumer):
    """Read-only feed of the site's totals, sent on connect and whenever they change, and of
    what contributors are doing ("someone validated dog"; never who)."""

    async def connect(self):
        await self.channel_layer.group_add(TOTALS_GROUP, self.channel_name)
        await self.channel_layer.group_add(ACTIVITY_GROUP, self.channel_name)
        await self.accept()
        await self.send_json(
            {"type": "totals", "totals": await database_sync_to_async(site_totals)()}
        )

    async def disconnect(self, code):
        await self.channel_layer.group_discard(TOTALS_GROUP, self.channel_name)
        await self.channel_layer.group_discard(ACTIVITY_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Whatever arrives (JSON, other text, binary) gets the same answer instead of a decode
        # error that would close the connection.
        await self.send_json({"type": "error", "detail": "This feed is read-only."})

    async def totals_changed(self, event):
        await self.send_json({"type": "totals", "totals": event["totals"]})

    async def activity_happened(self, event):
        await self.send_json({"type": "activity", "text": event["text"]})
