"""Benchmark: an upload's response time with nudity screening enabled and disabled.

Screening must never block the upload request: the request only queues the screening task
(``moderation.tasks.screen_donation``) once the donation commits, and the task worker runs the
model later. This bench posts the same kind of photo to ``POST /api/donations/`` (the Django
test client, in-process) with ``SCREENING_ENABLED`` on and off, alternating run by run so machine
load hits both alike, and prints the median and p90 of each, then the time the background
screening of one photo takes (model load once, then per photo).

Target (from the issue): the upload's response time does not depend on screening (the medians
within noise of each other). It is a benchmark, not a test: the exit code is always 0.

Everything runs in a throw-away data directory (SQLite database, media files) removed at the
end. Needs the optional extra (``make install-screening``) for the screening figures.

Run from the repository root::

    .venv/bin/python bench/screening.py [--runs 15]
"""

import argparse
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 2000, 1500


def environment_isolate(data_dir: Path) -> None:
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    # The real production backend: the request queues, the worker runs.
    os.environ["TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
    os.environ["RATELIMIT_ENABLE"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagemonkey_site.settings"
    for name in ("REDIS_URL", "S3_BUCKET", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (HEIGHT // 50, WIDTH // 50, 3), dtype=np.uint8)
    picture = Image.fromarray(small).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    noisy = np.asarray(picture, dtype=np.int16) + rng.integers(-8, 8, (HEIGHT, WIDTH, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(*, runs: int) -> None:
    import django

    django.setup()

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client, override_settings
    from django_tasks_db.models import DBTaskResult

    from donations.models import Image as Donation

    call_command("migrate", verbosity=0)
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    print(f"Upload: {WIDTH}x{HEIGHT} JPEG, {runs} runs per variant (interleaved), SQLite")

    client = Client()
    client.get("/")  # the CSRF cookie
    token = client.cookies["csrftoken"].value
    timings: dict[bool, list[float]] = {True: [], False: []}
    seed = 0
    for index in range(runs + 1):
        for enabled in (True, False):
            seed += 1
            upload = SimpleUploadedFile("photo.jpg", photo(seed), content_type="image/jpeg")
            with override_settings(SCREENING_ENABLED=enabled):
                start = time.perf_counter()
                response = client.post(
                    "/api/donations/", {"file": upload, "cc0": "true"}, HTTP_X_CSRFTOKEN=token
                )
                elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 201, response.content
            if index > 0:  # the first round warms up
                timings[enabled].append(elapsed)
    queued = DBTaskResult.objects.filter(task_path="moderation.tasks.screen_donation").count()
    for enabled in (True, False):
        values = timings[enabled]
        state = "on " if enabled else "off"
        print(
            f"  screening {state}: upload p50 {statistics.median(values):7.1f} ms"
            f"   p90 {percentile(values, 0.9):7.1f} ms"
        )
    ratio = statistics.median(timings[True]) / statistics.median(timings[False])
    print(f"  on/off median ratio {ratio:.2f}; screening tasks queued by the uploads: {queued}")

    from moderation import screening
    from moderation.services import donation_screen

    try:
        start = time.perf_counter()
        screening._detector()
        load = (time.perf_counter() - start) * 1000
    except screening.ScreeningUnavailable as error:
        print(f"  background screening: unavailable ({error})")
        return
    pending = list(Donation.objects.pending().values_list("pk", flat=True)[:10])
    per_photo = []
    for image_id in pending:
        start = time.perf_counter()
        with transaction.atomic():
            donation_screen(image_id=image_id)
        per_photo.append((time.perf_counter() - start) * 1000)
    print(
        f"  background screening (the worker): model load {load:.0f} ms once, then "
        f"p50 {statistics.median(per_photo):.1f} ms a photo ({len(per_photo)} photos)"
    )
    verdict = "PASS" if ratio <= 1.2 else "CHECK"
    print(f"Verdict: {verdict} (the upload does not wait for screening: ratio {ratio:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per variant")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-"))
    try:
        environment_isolate(data_dir)
        report(runs=max(1, args.runs))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
