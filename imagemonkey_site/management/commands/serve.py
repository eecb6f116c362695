import signal
import subprocess
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve HTTP and websockets with Daphne and run a background task worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the task worker."
        )

    def handle(self, *args, host, port, no_worker, **options):
        python = sys.executable
        worker = None
        if not no_worker:
            worker = subprocess.Popen([python, "manage.py", "db_worker"])  # noqa: S603
        server = subprocess.Popen(  # noqa: S603
            [
                python,
                "-m",
                "daphne",
                "-b",
                host,
                "-p",
                str(port),
                "imagemonkey_site.asgi:application",
            ]
        )
        self.stdout.write(
            self.style.SUCCESS(f"ImageMonkey is running on http://{host}:{port}/ (Ctrl+C stops it)")
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
