"""One ASGI application: HTTP through Django's WSGI handler in a thread pool, websockets
through Channels, served by uvicorn (`manage.py serve`).

Every view here is synchronous. Django's own ASGI handler would run each request's middleware
and view through several hops between the event loop and worker threads (and a new thread per
request); measured on the next-task path that cost more CPU than the view. a2wsgi hands each
request to a worker thread once, where Django runs it exactly as under any WSGI server, and
streams the response back (exports chunk by chunk, with backpressure).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagemonkey_site.settings")
django_wsgi = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": WSGIMiddleware(django_wsgi, workers=settings.SERVER_THREADS),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
