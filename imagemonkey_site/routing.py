from django.urls import path

from .consumers import SiteTotalsConsumer

websocket_urlpatterns = [
    path("ws/totals/", SiteTotalsConsumer.as_asgi()),
]
