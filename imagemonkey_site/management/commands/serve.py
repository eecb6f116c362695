import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
PROCESS_LOCAL_LAYERS = ("channels.layers.InMemoryChannelLayer",)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def state_is_shared() -> bool:
    """Whether server processes share rate-limit counters, handed-out tasks and live updates
    (the cache and the channel layer are Redis), so requests may land on any of them."""
    cache = settings.CACHES["default"]["BACKEND"]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return cache not in PROCESS_LOCAL_CACHES and layer not in PROCESS_LOCAL_LAYERS


def server_workers(requested: int | None = None) -> int:
    """How many server processes: `requested`, else one per core when state is shared, else
    one (the embedded mode keeps it in one process's memory)."""
    shared = state_is_shared()
    workers = requested if requested is not None else cores() if shared else 1
    if workers < 1:
        raise CommandError("--workers must be at least 1.")
    if workers > 1 and not shared:
        raise CommandError(
            "Several server processes need REDIS_URL: without it rate limits, handed-out "
            "tasks and live updates live in one process's memory."
        )
    return workers


def server_command(*, host: str, port: int, workers: int) -> list[str]:
    """uvicorn on uvloop and httptools, websockets through Channels, one process per worker.

    Client addresses are the socket's (no proxy headers): behind a proxy the rate limits read
    its header themselves (RATELIMIT_IP_META_KEY), and a second reading could disagree.
    """
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "imagemonkey_site.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--ws",
        "websockets-sansio",
        "--lifespan",
        "off",
        "--no-proxy-headers",
        "--no-server-header",
        "--no-access-log",
    ]


class Command(BaseCommand):
    help = (
        "Serve HTTP and websockets with uvicorn (one worker process per core when the cache is "
        "Redis, else one) and run a background task worker beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            type=int,
            help="Server processes (default: one per core with REDIS_URL set, else one).",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the task worker."
        )

    def handle(self, *args, host, port, workers, no_worker, **options):
        workers = server_workers(workers)
        python = sys.executable
        worker = None
        if not no_worker:
            worker = subprocess.Popen([python, "manage.py", "db_worker"])  # noqa: S603
        server = subprocess.Popen(server_command(host=host, port=port, workers=workers))  # noqa: S603
        plural = "es" if workers > 1 else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"ImageMonkey is running on http://{host}:{port}/ with uvicorn, {workers} "
                f"server process{plural} (Ctrl+C stops it)"
            )
        )
        self.stdout.write(
            "Create a moderator account with: .venv/bin/python manage.py createsuperuser"
        )
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for process in (server, worker):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in (server, worker):
                if process is not None:
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()
