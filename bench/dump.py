"""Benchmark: a public release (`manage.py dataset_dump`) of 100k and 1M images, time and peak RSS.

It seeds PostgreSQL databases of its own (``bench_dump_small``: 100k unlocked images,
``bench_dump``: 1M) with the rows of ``bench/export.py`` (three image-labels per image, 3M at
1M, about 55 % confirmed; three images in ten outlined with a revision and refinement values),
and gives every image a small file of its own (2 kB; the dump copies the stored bytes without
reading them as images, so their content does not matter, only that there is one file per
image) under ``var/bench-media/<database>/``. Then it runs ``manage.py dataset_dump OUT`` in a
fresh process per scale and prints its wall time, its peak RSS (``ru_maxrss`` from
``wait4``: the whole life of the process, Django's start included), the records written per
table and the release's size.

Target (from the issue): peak RSS <= 300 MB at 1M images / 3M image-labels, and flat (about the
same at 100k and 1M). A benchmark, not a test: the exit code is 0 whatever the verdict.

Run from the repository root::

    .venv/bin/python bench/dump.py                 # 100k, then 1M
    .venv/bin/python bench/dump.py --scale small   # 100k only

Seeding is resumable (``bench/export.py``'s seeder, its stages recorded in the database);
``--reseed`` drops and recreates the databases.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import SCALES, Seeder, bench_env, mb
from next_task import (
    REPO_ROOT,
    check_local,
    database_ensure,
    database_name,
    machine_info,
    migrate,
    with_database,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_dump"
TARGET_RSS_MB = 300.0
FILE_BYTES = 2048


def seed_worker(args: argparse.Namespace) -> None:
    """Seed one database (resumable) and give each image its file."""
    import django

    django.setup()
    scale = SCALES[args.seed_worker]
    seeder = Seeder(args.database_url, scale)
    try:
        seeder.run()
        with seeder.conn.cursor() as cur:
            cur.execute("ANALYZE labels_app_label, labels_app_labelterm")
        files_ensure(seeder, Path(os.environ["MEDIA_ROOT"]))
    finally:
        seeder.close()


def files_ensure(seeder: Seeder, media_root: Path) -> None:
    key = "stage:dump files"
    if seeder.state(key) is not None:
        return
    started = time.perf_counter()
    data = os.urandom(FILE_BYTES)
    written = 0
    folders: set[str] = set()
    with seeder.conn.transaction(), seeder.conn.cursor(name="image_files") as cur:
        cur.itersize = 10_000
        cur.execute("SELECT file FROM donations_image WHERE status = 'unlocked'")
        for (name,) in cur:
            path = media_root / name
            folder = str(path.parent)
            if folder not in folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                folders.add(folder)
            if not path.exists():
                path.write_bytes(data)
                written += 1
    with seeder.transaction() as cur:
        seeder.state_set(cur, key, {"written": written})
    print(
        f"  image files: {written:,} written in {time.perf_counter() - started:.0f} s", flush=True
    )


def dump_run(env: dict[str, str], out: Path) -> dict:
    """`manage.py dataset_dump OUT` in a process of its own: seconds and peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "dataset_dump", str(out)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"dataset_dump failed:\n{output}")
    manifest = json.loads((out / "manifest.json").read_text())
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    return {
        "seconds": seconds,
        "rss_kb": usage.ru_maxrss,
        "counts": manifest["counts"],
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-worker", choices=sorted(SCALES), help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the releases written")
    args = parser.parse_args()
    check_local(args.database_url)
    if args.seed_worker:
        seed_worker(args)
        return
    urls = {"small": with_database(args.database_url, database_name(args.database_url) + "_small")}
    if args.scale == "full":
        urls["full"] = args.database_url
    print("Dataset release benchmark (manage.py dataset_dump)")
    print("\n".join(machine_info(args.database_url)))
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-dump-"))
    results = {}
    try:
        for scale, url in urls.items():
            env = bench_env(url, data_dir)
            if database_ensure(url, reseed=args.reseed):
                shutil.rmtree(env["MEDIA_ROOT"], ignore_errors=True)
            migrate(env)
            print(f"\n=== {scale}: {database_name(url)} ===", flush=True)
            subprocess.run(  # noqa: S603
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--seed-worker",
                    scale,
                    "--database-url",
                    url,
                ],
                cwd=REPO_ROOT,
                env=env,
                check=True,
            )
            out = REPO_ROOT / "var" / "bench-dumps" / database_name(url)
            shutil.rmtree(out, ignore_errors=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            result = dump_run(env, out)
            results[scale] = result
            counts = result["counts"]
            print(
                f"  dataset_dump: {result['seconds']:.1f} s, "
                f"peak RSS {mb(result['rss_kb']):.0f} MB; "
                f"{counts['images']:,} images ({counts['image_files']:,} files), "
                f"{counts['image_labels']:,} image-labels, {counts['annotations']:,} annotations, "
                f"{counts['annotation_revisions']:,} revisions, {counts['refinements']:,} "
                f"refinement values; release {result['bytes'] / 1024**2:,.0f} MB; "
                f"{counts['image_labels'] / result['seconds']:,.0f} image-labels/s",
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print("\n=== Summary ===")
    for scale, result in results.items():
        rss = mb(result["rss_kb"])
        verdict = "ok" if rss <= TARGET_RSS_MB else "MISSED"
        print(
            f"  {scale}: {result['seconds']:.1f} s, peak RSS {rss:.0f} MB "
            f"(target <= {TARGET_RSS_MB:.0f} MB: {verdict})"
        )
    if len(results) == 2:
        small, full = (mb(results[s]["rss_kb"]) for s in ("small", "full"))
        print(f"  peak RSS at 1M / at 100k: {full / small:.2f}")


if __name__ == "__main__":
    main()
