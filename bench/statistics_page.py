"""Benchmark: the statistics page and API on a 1M-image PostgreSQL database.

It seeds a dedicated PostgreSQL database with ``bench/next_task.py``'s full scale (1M unlocked
images over 1,000 days, 3M image-labels of the real catalog's labels, about 10M votes) and adds
about 300k annotations (one on three in ten images' first confirmed object label) and 2 % of the
images hidden after reports, so the public rule has something to leave out. Then it measures:

* the refresh - ``statistics_refresh()``, the background task that recounts the figures
  into the snapshot: once as the daily full recount (every day's series), then as the
  ordinary refresh (labels, totals, the last days' series) that runs at most once per
  ``STATISTICS_REFRESH_SECONDS``;
* ``GET /statistics/``, ``GET /statistics/labels/graph/``, ``GET /api/statistics/?days=90`` and
  ``GET /api/statistics/labels/?sort=-images`` through Django's test client: cold (the
  statistics cache cleared before every request) and warm (the cached figures), p50/p95;
* the same pages over HTTP against Daphne (the server of ``manage.py serve``), warm, p50/p95.

Target (from the issue): the page answers in <= 100 ms at 1M images. Rate limiting is off
(RATELIMIT_ENABLE=false). It is a benchmark, not a test: the exit code is 0 whatever the
verdicts. Seeding is resumable (next_task's machinery); ``--reseed`` drops the database.

Run from the repository root::

    .venv/bin/python bench/statistics_page.py
    .venv/bin/python bench/statistics_page.py --database-url postgres://postgres@127.0.0.1:5432/x

The first run seeds for about eight minutes.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name is the standard library's `statistics`: with its folder first on the path
# (as when run as a script) `import statistics` would import this file, here and in next_task.
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH_DIR]

import argparse  # noqa: E402
import http.client  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

sys.path.append(str(BENCH_DIR))

from next_task import (  # noqa: E402
    REPO_ROOT,
    SCALES,
    Seeder,
    check_local,
    daphne_servers,
    database_ensure,
    database_name,
    machine_info,
    migrate,
    seeding_print,
    verdict,
    worker_env,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/imagemonkey_statsbench"
TARGET_MS = 100.0
PATHS = {
    "page": "/statistics/",
    "page, sorted and searched": "/statistics/?sort=-open&q=ca",
    "label graph": "/statistics/labels/graph/",
    "API totals + series": "/api/statistics/?days=90",
    "API labels": "/api/statistics/labels/?sort=-images",
}

# One annotation on three images in ten: on the image's first confirmed object label.
ANNOTATIONS_SEED = """
INSERT INTO annotations_annotation (
    image_label_id, revision, shapes, coverage, author_id, created_at, updated_at,
    good_count, bad_count, unsure_count, counted_votes, evidence, probability, review_state,
    in_review, gold_answer, random_key, sort_key, hidden)
SELECT DISTINCT ON (il.image_id)
       il.id, 1, '[{"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}]'::jsonb,
       0.25, il.added_by_id, il.created_at + interval '2 days', il.created_at + interval '2 days',
       0, 0, 0, 0, 0.0, 0.5, 'open', true, '', random(), random(), false
FROM labels_app_imagelabel AS il
JOIN labels_app_label AS l ON l.id = il.label_id AND l.kind = 'object'
WHERE il.state = 'confirmed' AND il.id % 10 < 3
ORDER BY il.image_id, il.id
ON CONFLICT DO NOTHING
"""
ANNOTATIONS_QUEUE = """
UPDATE labels_app_imagelabel SET needs_annotation = false
WHERE needs_annotation AND id IN (SELECT image_label_id FROM annotations_annotation)
"""
# 2 % of the images hidden after reports: out of every public figure.
IMAGES_HIDE = """
UPDATE donations_image SET status = 'hidden' WHERE random_key < 0.02 AND status = 'unlocked'
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": cuts[49], "p95": cuts[94], "max": max(samples)}


def line(name: str, figures: dict[str, float]) -> str:
    ok = figures["p95"] <= TARGET_MS
    return (
        f"  {name:<28} p50 {figures['p50']:7.2f} ms   p95 {figures['p95']:7.2f} ms   "
        f"max {figures['max']:7.1f} ms  (n={figures['n']})  {verdict(ok)}"
    )


def analyze(seeder: Seeder) -> None:
    with seeder.conn.cursor() as cur:
        for table in ("donations_image", "labels_app_imagelabel", "annotations_annotation"):
            cur.execute(f"VACUUM (ANALYZE) {table}")


def seed(url: str) -> None:
    seeder = Seeder(url, SCALES["full"])
    started = time.perf_counter()
    try:
        config = seeder.run()
        seeding_print(seeder, config, started)
        seeder.stage("annotations", lambda: seeder.execute(ANNOTATIONS_SEED))
        seeder.stage("annotation queue", lambda: seeder.execute(ANNOTATIONS_QUEUE))
        seeder.stage("hidden images", lambda: seeder.execute(IMAGES_HIDE))
        seeder.stage("analyze", lambda: analyze(seeder))
        for table in ("donations_image", "labels_app_imagelabel", "validations_vote"):
            print(f"  {table}: {seeder.count(table):,} rows")
        print(f"  annotations_annotation: {seeder.count('annotations_annotation'):,} rows")
    finally:
        seeder.close()


def client_measure(calls: int) -> dict[str, dict[str, dict[str, float]]]:
    from django.core.cache import cache
    from django.core.cache.utils import make_template_fragment_key
    from django.test import Client

    from datasets.models import StatisticsSnapshot
    from datasets.statistics.figures import statistics_cache_clear

    client = Client(HTTP_HOST="127.0.0.1")

    def cache_clear() -> None:
        # The figures, and the label graph's rendered tree (a template fragment per snapshot).
        statistics_cache_clear()
        refreshed = StatisticsSnapshot.objects.get().refreshed_at.isoformat()
        cache.delete(make_template_fragment_key("statistics-graph", ["", refreshed]))

    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, path in PATHS.items():
        for mode in ("cold", "warm"):
            samples = []
            for attempt in range(calls + 3):
                if mode == "cold":
                    cache_clear()
                started = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if attempt >= 3:  # the first ones warm the connection and the templates
                    samples.append(elapsed)
            results.setdefault(name, {})[mode] = percentiles(samples)
    cache.close()
    return results


def http_measure(port: int, calls: int) -> dict[str, dict[str, float]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    results = {}
    for name, path in PATHS.items():
        samples = []
        for attempt in range(calls + 3):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status == 200, (path, response.status)
            if attempt >= 3:
                samples.append(elapsed)
        results[name] = percentiles(samples)
    connection.close()
    return results


def worker(args: argparse.Namespace) -> None:
    import django

    django.setup()
    print(f"\n=== {database_name(args.database_url)} ===", flush=True)
    seed(args.database_url)
    if args.seed_only:
        return
    from datasets.statistics.figures import statistics_totals
    from datasets.statistics.refresh import statistics_refresh

    timings = []
    for full in ([True] if args.refreshes >= 0 else []) + [False] * args.refreshes:
        started = time.perf_counter()
        statistics_refresh(full=full)
        timings.append((full, time.perf_counter() - started))
    totals = statistics_totals()
    print("\nRefresh (statistics_refresh, the background task):")
    for full, seconds in timings:
        kind = "full recount (every day; once a day)" if full else "refresh (last days)"
        print(f"  {kind:<40} {seconds:6.1f} s")
    print(
        "  public figures: "
        + ", ".join(f"{name} {value:,}" for name, value in totals.items() if name != "refreshed")
    )
    print(f"\nDjango test client, {args.calls} requests each (cold: cache cleared every time)")
    for name, modes in client_measure(args.calls).items():
        for mode, figures in modes.items():
            print(line(f"{name} ({mode})", figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--reseed", action="store_true", help="drop and reseed the database")
    parser.add_argument("--calls", type=int, default=100, help="timed requests per path")
    parser.add_argument(
        "--refreshes",
        type=int,
        default=2,
        help="timed ordinary refreshes after the full recount (-1: neither)",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed, measure nothing")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    check_local(args.database_url)
    if args.worker:
        worker(args)
        return
    print("Statistics page and API benchmark")
    print("\n".join(machine_info(args.database_url)))
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-statistics-"))
    env = worker_env(args.database_url, data_dir)
    if database_ensure(args.database_url, reseed=args.reseed):
        print(f"Created database {database_name(args.database_url)}.", flush=True)
    migrate(env)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--database-url",
        args.database_url,
        "--calls",
        str(args.calls),
        "--refreshes",
        str(args.refreshes),
        *(["--seed-only"] if args.seed_only else []),
    ]
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)  # noqa: S603
    if args.seed_only:
        return
    print(f"\nDaphne over HTTP (keep-alive, warm cache), {args.calls} requests each")
    with daphne_servers(1, env, data_dir) as servers:
        for name, figures in http_measure(servers[0].port, args.calls).items():
            print(line(name, figures))
    print(f"\nTarget: p95 <= {TARGET_MS:.0f} ms per request at 1M images.")


if __name__ == "__main__":
    main()
