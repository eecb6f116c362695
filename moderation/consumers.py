from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .live import MODERATORS_GROUP, dashboard_state


def may_moderate(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("moderation.view_reportcase")
    )


class ModeratorDashboardConsumer(AsyncJsonWebsocketConsumer):
    """Read-only feed for staff who may see reports: the dashboard's state on connect, then
    every new report, alert and change of the pending and hidden counts. Anyone else is
    refused before the connection opens."""

    async def connect(self):
        if not await database_sync_to_async(may_moderate)(self.scope.get("user")):
            await self.close(code=4403)
            return
        self.joined = True
        await self.channel_layer.group_add(MODERATORS_GROUP, self.channel_name)
        await self.accept()
        await self.send_json({"type": "state", **await database_sync_to_async(dashboard_state)()})

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(MODERATORS_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        await self.send_json({"type": "error", "detail": "This feed is read-only."})

    async def dashboard_update(self, event):
        await self.send_json(
            {key: value for key, value in event.items() if key != "type"} | {"type": "update"}
        )
