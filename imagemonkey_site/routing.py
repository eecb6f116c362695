from django.urls import path

from datasets.consumers import ExportProgressConsumer
from moderation.consumers import ModeratorDashboardConsumer

from .consumers import SiteTotalsConsumer

websocket_urlpatterns = [
    path("ws/totals/", SiteTotalsConsumer.as_asgi()),
    path("ws/exports/<uuid:job_id>/", ExportProgressConsumer.as_asgi()),
    path("ws/moderation/", ModeratorDashboardConsumer.as_asgi()),
]
