from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from contributors.identity import contributor_of_request

from .live import job_progress, progress_group
from .models import ExportJob


def _own_job(scope, job_id):
    """The job, if it belongs to whoever holds this connection's session (else None)."""
    request = SimpleNamespace(user=scope.get("user"), session=scope.get("session", {}))
    contributor = contributor_of_request(request)
    job = ExportJob.objects.of(contributor).filter(pk=job_id).first()
    return job_progress(job) if job is not None else None


class ExportProgressConsumer(AsyncJsonWebsocketConsumer):
    """Read-only feed of one export job's progress, for its owner: the state on connect, then
    every step (rows done of total, ETA) until the download link."""

    async def connect(self):
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        progress = await database_sync_to_async(_own_job)(self.scope, job_id)
        if progress is None:
            await self.close(code=4404)
            return
        self.group = progress_group(job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "progress", "job": progress})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        await self.send_json({"type": "error", "detail": "This feed is read-only."})

    async def export_progress(self, event):
        await self.send_json({"type": "progress", "job": event["job"]})
