"""Real server processes, started as `manage.py serve` starts them, on the test database,
for behaviour that must hold across processes (shared rate limits, exclusive leases, live
updates). Tests using them need committed rows (`django_db(transaction=True)`) and a database
other processes can open (PostgreSQL)."""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from imagemonkey_site.management.commands.serve import server_command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def test_database_url() -> str:
    params = connection.settings_dict
    user, host = params["USER"] or "postgres", params["HOST"] or "127.0.0.1"
    return f"postgres://{user}@{host}:{params['PORT'] or 5432}/{params['NAME']}"


test_database_url.__test__ = False  # a helper, not a test for pytest to collect


@contextmanager
def server_processes(count: int, **environment: str) -> Iterator[list[int]]:
    """Start `count` server processes on the test database; yields their ports."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
        **environment,
    }
    ports = [free_port() for _ in range(count)]
    servers = [
        subprocess.Popen(  # noqa: S603 - fixed arguments, local test servers
            server_command(host="127.0.0.1", port=port, workers=1),
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_serving(port, server)
        yield ports
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
