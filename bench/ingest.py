"""Benchmark: the donation ingest against a bare Pillow decode + re-encode of the same photo.

It generates a deterministic, photo-like 12-megapixel JPEG (4000 x 3000, quality 92) carrying EXIF
with Orientation=6 and GPS coordinates, then times three things on those same bytes in one run:

* baseline     - ``Image.open`` + ``load`` + ``save`` as JPEG at ``DONATION_JPEG_QUALITY``;
* image_process - the pure pipeline (validate, decode, orient, strip, re-encode, thumbnails,
  hashes) without storage or database;
* image_donate - the full ingest: the pipeline plus the storage writes and the ``Image`` row.

Target (from the issue): the full ingest's median costs at most 1.5 times the baseline's median.
Each variant gets one untimed warm-up, then the variants are interleaved run by run so that
drift in machine load hits all of them alike. It is a benchmark, not a test: the exit code is
always 0 and the verdict is printed.

Everything runs in a throw-away data directory (SQLite database, media files, secret key) that
is removed at the end, so the developer's own data is never touched.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--runs 7]
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL
from PIL import ExifTags, Image

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
WIDTH, HEIGHT = 4000, 3000
SOURCE_QUALITY = 92
SEED = 20240601
TIMES = "\N{MULTIPLICATION SIGN}"
# (grid cells across, amplitude): a few octaves of smooth colour, coarse to fine.
OCTAVES = ((4, 1.0), (16, 0.5), (64, 0.25), (256, 0.12))
# Sensor-like grain; without it JPEG compresses the smooth field to an unrealistically small file.
NOISE_SIGMA = 8.0


def environment_isolate(data_dir: Path) -> None:
    """Point the settings at a fresh data directory; must run before ``django.setup()``."""
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagemonkey_site.settings"
    # A developer's shell may point these at shared services or their own media folder.
    for name in ("REDIS_URL", "S3_BUCKET", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def photo_generate() -> bytes:
    """A deterministic photo-like JPEG with EXIF orientation and GPS position."""
    rng = np.random.default_rng(SEED)
    field = np.zeros((HEIGHT, WIDTH, 3), dtype=np.float32)
    for cells, amplitude in OCTAVES:
        rows = max(2, cells * HEIGHT // WIDTH)
        small = rng.random((rows, cells, 3), dtype=np.float32)
        for channel in range(3):
            layer = Image.fromarray(small[..., channel]).resize(
                (WIDTH, HEIGHT), Image.Resampling.BICUBIC
            )
            field[..., channel] += amplitude * (np.asarray(layer) - 0.5)
    field *= 180 / sum(amplitude for _, amplitude in OCTAVES)
    field += 128
    field += rng.standard_normal(field.shape, dtype=np.float32) * NOISE_SIGMA
    pixels = np.clip(field, 0, 255).astype(np.uint8)

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "ImageMonkey"
    exif[ExifTags.Base.Model] = "Bench Camera"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 8.0, 14.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (11.0, 34.0, 30.2)

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=SOURCE_QUALITY, exif=exif)
    return buffer.getvalue()


def time_runs(
    variants: dict[str, Callable[[], object]],
    cleanups: dict[str, Callable[[object], None]],
    runs: int,
) -> dict[str, list[float]]:
    """Milliseconds per run for each variant, after one untimed warm-up of each."""
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(runs + 1):
        for name, work in variants.items():
            start = time.perf_counter()
            result = work()
            elapsed = (time.perf_counter() - start) * 1000
            if index > 0:
                timings[name].append(elapsed)
            if name in cleanups:
                cleanups[name](result)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per variant (default: 7)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-"))
    try:
        environment_isolate(data_dir)
        report(runs=args.runs)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def report(*, runs: int) -> None:
    import django

    django.setup()

    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    from contributors.models import Contributor
    from donations.ingest import image_process
    from donations.services import Donation, image_donate

    call_command("migrate", verbosity=0)
    donor = Contributor.objects.create()

    print("Generating the test photo…", flush=True)
    data = photo_generate()
    with Image.open(io.BytesIO(data)) as probe:
        width, height = probe.size
        orientation = probe.getexif().get(ExifTags.Base.Orientation)

    quality = settings.DONATION_JPEG_QUALITY

    def baseline() -> None:
        image = Image.open(io.BytesIO(data))
        image.load()
        image.save(io.BytesIO(), "JPEG", quality=quality)

    def process() -> None:
        image_process(
            data=data,
            max_bytes=settings.DONATION_MAX_BYTES,
            max_pixels=settings.DONATION_MAX_PIXELS,
            jpeg_quality=quality,
            thumbnail_sizes=settings.DONATION_THUMBNAIL_SIZES,
        )

    def donate() -> Donation:
        return image_donate(donor=donor, data=data, cc0_confirmed=True)

    def donation_undo(donation: object) -> None:
        # The same photo again would be refused as a duplicate, so each run starts clean.
        assert isinstance(donation, Donation)
        names = donation.image.stored_files()
        donation.image.delete()
        for name in names:
            default_storage.delete(name)

    print(
        f"Python {platform.python_version()}, Pillow {PIL.__version__}, "
        f"{os.cpu_count()} CPU cores, {platform.machine()}"
    )
    print(
        f"Photo: {width}{TIMES}{height} ({width * height / 1_000_000:.1f} MP), "
        f"JPEG q{SOURCE_QUALITY}, {len(data):,} bytes ({len(data) / 1_000_000:.2f} MB), "
        f"EXIF Orientation={orientation} + GPS"
    )
    print(f"Output JPEG quality {quality}, thumbnails {settings.DONATION_THUMBNAIL_SIZES}")
    print(f"Runs: {runs} timed per variant, after 1 untimed warm-up each", flush=True)

    timings = time_runs(
        {
            "baseline (Pillow decode + re-encode)": baseline,
            "image_process (pipeline only)": process,
            "image_donate (full ingest)": donate,
        },
        {"image_donate (full ingest)": donation_undo},
        runs,
    )

    print()
    print(f"{'variant':<38} {'median ms':>10} {'min ms':>10} {TIMES + ' baseline':>11}")
    baseline_median = statistics.median(timings["baseline (Pillow decode + re-encode)"])
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:<38} {median:>10.1f} {min(values):>10.1f} "
            f"{median / baseline_median:>10.2f}{TIMES}"
        )

    ratio = statistics.median(timings["image_donate (full ingest)"]) / baseline_median
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print()
    print(
        f"Full ingest / baseline (medians): {ratio:.2f}{TIMES}  "
        f"target ≤ {TARGET_RATIO:.2f}{TIMES}  -> {verdict}"
    )


if __name__ == "__main__":
    main()
