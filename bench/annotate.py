"""Benchmark: the next annotation task (lease included) on a 1M-image PostgreSQL database.

It seeds a dedicated PostgreSQL database with 1M unlocked images carrying 1-3 distinct object
labels each (about 2M image-labels). On three images in ten the first label is confirmed and
waits to be outlined (``needs_annotation``): exactly 300k annotation tasks. The other labels are
open (in the validation queue) or rejected. A second database holds 10k images and 3k tasks for
the flat-cost comparison. No image files are written: the task payload only builds URLs. Then:

* service - ``annotation_task_lease`` in-process, each lease given back at once with
  ``annotation_task_release(kind="passed")``: p50/p95/p99 and CPU per lease, SQL per statement
  kind; beside it the view's payload and the release, and the whole request through the
  Django test client with its SQL (authentication included);
* latency - one contributor with an API token on a keep-alive connection to the server
  ``manage.py serve`` starts (uvicorn, its own command line): ``POST /api/annotations/next/``
  timed (it takes the lease), then ``POST /api/annotations/leases/<id>/passed/`` untimed, so
  every ``next`` takes a fresh lease.
  With both databases there is one server per database and the requests alternate between
  them, so both sizes see the same machine load;
* exclusivity - 32 client threads, each a different contributor with its own token and
  keep-alive connection, spread over 2 server worker processes, loop next, hold the task 0-20 ms,
  passed, for 30 s: on the 10k database, where clients meet on the same rows (3k tasks, and a
  task one client passed goes to the others), then on the 1M one. Every lease is recorded:
  client, image-label, lease id, when the answer arrived and when the release was about to be
  sent. That interval lies inside the server's lease, so when two clients' intervals on the
  same image-label overlap, both certainly held it at once: a duplicate lease. Also counted:
  one lease id handed to two clients before its ``expires_at``. Afterwards the database is
  checked for image-labels with two live leases, and its pass marks are compared with the
  releases the clients saw succeed.

Targets (from the issues): p95 of ``next`` (lease included) <= 10 ms over HTTP at 1M; zero
duplicate leases from 32 concurrent clients over 2 server processes for 30 s. Rate limits count
as in production, raised for the one address every request comes from. It is a benchmark, not
a test: the exit code is 0 whatever the verdicts.

Seeding is resumable and idempotent, with the machinery of ``bench/next_task.py``: each stage
is recorded in the ``bench_seed_state`` table and skipped once done; the big tables are loaded
without their secondary indexes and foreign keys, recreated afterwards and checked identical;
``--reseed`` drops and recreates the databases. Each run first deletes the pass marks and leases
of its own contributors, so reruns start alike.

Run from the repository root::

    .venv/bin/python bench/annotate.py                    # 10k and 1M
    .venv/bin/python bench/annotate.py --scale small-only # 10k only, all three parts: a smoke run

The first full run seeds for about a minute; a whole run takes three to four minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from next_task import (
    IMAGE_ROWS,
    REPO_ROOT,
    SCHEMA_SIGNATURE,
    TIMES,
    BulkRows,
    app_check,
    app_servers,
    backend_pid,
    check_local,
    cpu_snapshot,
    database_ensure,
    database_name,
    decisive_evidence,
    fmt_cpu,
    fmt_latency,
    insert_statement,
    machine_info,
    migrate,
    percentiles,
    pg_array,
    pg_connect,
    process_cpu,
    seeding_print,
    sql_breakdown,
    token_for,
    verdict,
    with_database,
    worker_env,
)
from next_task import Seeder as BulkSeeder

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/imagemonkey_bench_annotate"
SEED = 20240612
TARGET_P95_MS = 10.0
NEXT_PATH = "/api/annotations/next/"
PASSED_PATH = "/api/annotations/leases/{lease}/passed/"
TABLES = ["donations_image", "labels_app_imagelabel"]
USERNAME_PREFIX = "bench-annotator-"


@dataclass(frozen=True)
class Scale:
    name: str
    images: int
    donors: int
    chunk: int = 250_000

    @property
    def tasks(self) -> int:
        # The images i in 1..images with i % 10 < 3 (see IMAGE_LABEL_ROWS).
        return 3 * (self.images // 10) + min(self.images % 10, 2)


SCALES = {
    "full": Scale("full", 1_000_000, donors=200),
    "small": Scale("small", 10_000, donors=10),
}


# --- Seeding SQL (on top of next_task's pg_temp functions) ------------------------------------

SEED_FUNCTIONS = r"""
CREATE FUNCTION pg_temp.bench_label_count(i bigint) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 1 + floor(pg_temp.bench_u(i, 34) * 3)::int;
"""

DONOR_ROWS = BulkRows(
    model="contributors.Contributor",
    columns={"created_at": "%(anchor)s - interval '1100 days' + d * interval '1 day'"},
    source="FROM generate_series(1, %(donors)s) AS d",
)

# next_task's images, with this benchmark's number of labels per image.
ANNOTATE_IMAGE_ROWS = replace(
    IMAGE_ROWS, columns={**IMAGE_ROWS.columns, "label_count": "pg_temp.bench_label_count(i)"}
)

# Label k of image i (k < bench_label_count(i)); the ids are left to the identity column. The
# first label of three images in ten (i % 10 < 3) is the annotation task.
IMAGE_LABEL_ROWS = BulkRows(
    model="labels_app.ImageLabel",
    columns={
        "created_at": "created + k * interval '3 minutes'",
        "evidence": "evidence",
        "probability": "1.0 / (1.0 + exp(-evidence))",
        "state": "state",
        "in_queue": "state = 'open'",
        "needs_annotation": "state = 'confirmed'",
        "random_key": "random_key",
        "sort_key": "CASE WHEN state = 'open' THEN random_key ELSE 0 END",
        "added_by_id": "(%(donor_ids)s::bigint[])[pg_temp.bench_donor(i, %(donors)s)]",
        "image_id": "pg_temp.bench_image_uuid(i)",
        "label_id": "(%(label_ids)s::bigint[])[pg_temp.bench_label(i, k, %(labels)s)]",
    },
    source="""
FROM (
    SELECT i, pg_temp.bench_image_created(i, %(images)s, %(anchor)s) AS created
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
    OFFSET 0
) AS s
CROSS JOIN LATERAL generate_series(0, pg_temp.bench_label_count(i) - 1) AS k
CROSS JOIN LATERAL (
    SELECT CASE WHEN k = 0 AND i %% 10 < 3 THEN 'confirmed'
                WHEN pg_temp.bench_u(3 * i + k, 35) < 0.7 THEN 'open'
                ELSE 'rejected' END AS state,
           pg_temp.bench_u(3 * i + k, 5) AS random_key
) AS decided
CROSS JOIN LATERAL (
    SELECT CASE state WHEN 'confirmed' THEN %(decisive)s WHEN 'rejected' THEN -%(decisive)s
                ELSE 0 END AS evidence
) AS consensus
""",
)

SEEDED_COUNTS = """
SELECT (SELECT count(*) FROM donations_image),
       count(*),
       count(*) FILTER (WHERE needs_annotation),
       count(*) FILTER (WHERE state = 'open'),
       count(*) FILTER (WHERE state = 'rejected')
FROM labels_app_imagelabel
"""


class Seeder(BulkSeeder):
    """next_task's resumable bulk loader, with this benchmark's tables and rows."""

    def __init__(self, url: str, scale: Scale) -> None:
        super().__init__(url, scale)
        with self.conn.cursor() as cur:
            cur.execute(SEED_FUNCTIONS)

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        config = self.config()
        if config["complete"]:
            return config

        params: dict[str, Any] = {
            "anchor": datetime.fromisoformat(config["anchor"]),
            "images": self.scale.images,
            "donors": self.scale.donors,
            "decisive": decisive_evidence(),
        }
        donors, donor_defaults, defaulted = insert_statement(DONOR_ROWS)
        self.stage("donors", lambda: self.execute(donors, {**params, **donor_defaults}))
        object_labels = [pk for pk, is_object in self.labels_sync() if is_object]
        params["label_ids"] = object_labels
        params["labels"] = len(object_labels)
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT array_agg(id ORDER BY id) FROM contributors_contributor "
                "WHERE user_id IS NULL"
            )
            params["donor_ids"] = cur.fetchone()[0]
        assert len(params["donor_ids"]) == self.scale.donors
        statements = {}
        for name, rows in (("images", ANNOTATE_IMAGE_ROWS), ("image-labels", IMAGE_LABEL_ROWS)):
            statements[name], defaults, left = insert_statement(rows)
            params.update(defaults)
            defaulted += [column for column in left if column not in defaulted]
        print(f"  columns left at their model default: {', '.join(defaulted) or 'none'}")
        params = {k: pg_array(v) if isinstance(v, list) else v for k, v in params.items()}

        if self.state("stage:restore") is None:
            self.constraints_drop()
        # Both are chunked by image number, so a chunk's image-labels follow its images.
        self.stage_chunked("images", statements["images"], self.scale.images, params)
        self.stage_chunked("image-labels", statements["image-labels"], self.scale.images, params)
        self.stage("restore", self.constraints_restore)
        self.stage("vacuum analyze", self.vacuum_analyze)
        config["complete"] = True
        config["seconds"] = round(time.perf_counter() - started, 1)
        with self.conn.cursor() as cur:
            self.state_set(cur, "config", config)
        return config

    def signature(self) -> list[list[str]]:
        with self.conn.cursor() as cur:
            cur.execute(SCHEMA_SIGNATURE, {"tables": TABLES})
            return [list(row) for row in cur.fetchall()]

    def vacuum_analyze(self) -> None:
        with self.conn.cursor() as cur:
            for table in ("contributors_contributor", *TABLES):
                cur.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))

    def counts(self) -> dict[str, int]:
        with self.conn.cursor() as cur:
            cur.execute(SEEDED_COUNTS)
            names = ("images", "image_labels", "tasks", "open", "rejected")
            return dict(zip(names, cur.fetchone(), strict=True))


# --- Worker: seeding and in-process figures for one database, in its own process -------------


class StatementTimer:
    """Time per statement kind through Django's execute wrapper (for next_task's sql_breakdown,
    with this endpoint's statement kinds)."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = defaultdict(list)

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            self.totals[statement_kind(statement)].append((time.perf_counter() - started) * 1000)


def statement_kind(statement: str) -> str:
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    match = re.search(r'(?:FROM|INTO|UPDATE) "?([a-z_]+)"?', text)
    kind = f"{verb} {match.group(1) if match else ''}".strip()
    if kind == "SELECT labels_app_imagelabel" and "FOR UPDATE" in text:
        random_start = '"random_key" >=' in text
        kind += " (task pick)" if random_start else " (task pick, wrap-around)"
    return kind


def bench_contributors(names: list[str]) -> list[tuple[int, str]]:
    """The same contributors every run, each with a fresh API token, their passes and leases
    from earlier runs deleted."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from annotations.models import AnnotationTaskMark, Lease
    from contributors.models import Contributor

    chosen = []
    for name in names:
        user, _ = get_user_model().objects.get_or_create(username=USERNAME_PREFIX + name)
        contributor, _ = Contributor.objects.get_or_create(user=user)
        chosen.append(contributor)
    AnnotationTaskMark.objects.filter(contributor__in=chosen).delete()
    Lease.objects.filter(contributor__in=chosen).delete()
    # Each run leaves thousands of dead lease and pass rows. Where autovacuum is off (as on the
    # machine this was written on) they pile up and slow the planner's index probes run after
    # run, so every run starts from clean tables.
    with connection.cursor() as cur:
        for model in (Lease, AnnotationTaskMark):
            cur.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return [(contributor.pk, token_for(contributor)) for contributor in chosen]


def service_measure(contributor: Any, calls: int, warmup: int) -> dict[str, Any]:
    """Lease then pass, in-process: the lease timed with its CPU, payload and release beside."""
    from django.db import connection
    from django.test import RequestFactory

    from annotations.api.views import task_payload
    from annotations.services import annotation_task_lease, annotation_task_release

    request = RequestFactory(HTTP_HOST="127.0.0.1").post(NEXT_PATH)
    backend = backend_pid()
    lease_ms, payload_ms, release_ms = [], [], []
    cpu = {"Django": 0.0, "PostgreSQL": 0.0}

    def lease_and_pass(record: bool) -> None:
        own, postgres = time.process_time(), process_cpu(backend)
        started = time.perf_counter()
        lease = annotation_task_lease(contributor=contributor)
        leased = time.perf_counter()
        if record:
            cpu["Django"] += time.process_time() - own
            cpu["PostgreSQL"] += process_cpu(backend) - postgres
        if lease is None:
            raise SystemExit("No annotation task left for the service measure.")
        task_payload(lease, request)
        built = time.perf_counter()
        annotation_task_release(contributor=contributor, lease_id=lease.pk, kind="passed")
        if record:
            lease_ms.append((leased - started) * 1000)
            payload_ms.append((built - leased) * 1000)
            release_ms.append((time.perf_counter() - built) * 1000)

    for index in range(warmup + calls):
        lease_and_pass(record=index >= warmup)
    timer = StatementTimer()
    breakdown_calls = min(calls, 100)
    for _ in range(breakdown_calls):
        with connection.execute_wrapper(timer):
            lease = annotation_task_lease(contributor=contributor)
        annotation_task_release(contributor=contributor, lease_id=lease.pk, kind="passed")
    return {
        "lease": percentiles(lease_ms),
        "cpu": {name: seconds / calls * 1000 for name, seconds in cpu.items()},
        "payload": percentiles(payload_ms),
        "release": percentiles(release_ms),
        "breakdown": sql_breakdown(timer, breakdown_calls),
    }


def request_measure(token: str, calls: int) -> tuple[dict[str, float], list[str]]:
    """POST next through the Django test client (no server, warm connection): time and SQL."""
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", headers={"authorization": f"Token {token}"})
    timer = StatementTimer()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            response = client.post(NEXT_PATH)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        passed = client.post(PASSED_PATH.format(lease=response.json()["lease"]["id"]))
        assert passed.status_code == 204, passed.content[:300]
    return percentiles(samples), sql_breakdown(timer, calls)


def worker(args: argparse.Namespace) -> None:
    import warnings

    import django

    django.setup()
    # Static files are not served by this benchmark.
    warnings.filterwarnings("ignore", message="No directory at")
    app_check()
    scale = SCALES[args.worker]
    print(f"\n=== {scale.name}: {database_name(args.database_url)} ===", flush=True)
    started = time.perf_counter()
    seeder = Seeder(args.database_url, scale)
    try:
        config = seeder.run()
        counts = seeder.counts()
    finally:
        seeder.close()
    seeding_print(seeder, config, started)
    print(
        f"  rows: {counts['images']:,} unlocked images, {counts['image_labels']:,} image-labels: "
        f"{counts['tasks']:,} confirmed awaiting annotation, {counts['open']:,} open, "
        f"{counts['rejected']:,} rejected"
    )
    if counts["tasks"] != scale.tasks:
        raise SystemExit(f"Expected {scale.tasks:,} annotation tasks, found {counts['tasks']:,}.")

    from contributors.models import Contributor

    # (contributor id, token): one for the in-process figures, one for HTTP latency, and the
    # concurrent clients.
    in_process, over_http, *annotators = bench_contributors(
        ["service", "http", *(f"{n:02d}" for n in range(1, args.clients + 1))]
    )
    service = service_measure(Contributor.objects.get(pk=in_process[0]), args.calls, args.warmup)
    print(
        f"\n  annotation_task_lease (service, in-process), {args.calls} leases after "
        f"{args.warmup}, each passed at once:"
    )
    print(f"    {fmt_latency(service['lease'])}")
    print(f"    CPU ms per lease: {fmt_cpu(service['cpu'])}")
    print("\n".join(service["breakdown"]))
    print(f"    task_payload (the view's answer):     {fmt_latency(service['payload'])}")
    print(f"    annotation_task_release (passed):     {fmt_latency(service['release'])}")
    request, request_sql = request_measure(in_process[1], min(args.calls, 100))
    print(f"\n  POST {NEXT_PATH} in-process (Django test client, warm connection, no server):")
    print(f"    {fmt_latency(request)}")
    print("\n".join(request_sql))
    result = {
        "scale": scale.name,
        "counts": counts,
        "service": service["lease"],
        "request": request,
        "http_token": over_http[1],
        "clients": annotators,
    }
    Path(args.result).write_text(json.dumps(result))


def run_worker(scale: str, url: str, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    env = worker_env(url, data_dir)
    if database_ensure(url, reseed=args.reseed):
        print(f"\nCreated database {database_name(url)}.", flush=True)
    migrate(env)
    result_file = data_dir / f"result-{scale}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--worker", scale, "--database-url", url, "--result", str(result_file)),
        *("--calls", str(args.calls), "--warmup", str(args.warmup)),
        *("--clients", str(args.clients)),
    ]
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)  # noqa: S603
    return json.loads(result_file.read_text())


# --- HTTP clients -----------------------------------------------------------------------------


class TaskClient:
    """One contributor on one keep-alive connection: takes annotation tasks and passes them."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Token {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str) -> tuple[int, bytes]:
        self.conn.request("POST", path, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def next_task(self) -> tuple[int, dict[str, Any] | None]:
        status, body = self.post(NEXT_PATH)
        return status, json.loads(body) if status == 200 else None

    def passed(self, lease_id: str) -> int:
        return self.post(PASSED_PATH.format(lease=lease_id))[0]

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def close(self) -> None:
        self.conn.close()


def latency_measure(
    clients: dict[str, TaskClient], pids: dict[str, int], calls: int, warmup: int
) -> dict[str, dict[str, Any]]:
    """next (timed) then passed (untimed), alternating between the clients' servers."""
    samples: dict[str, list[float]] = {name: [] for name in clients}
    statuses: dict[str, Counter[int]] = {name: Counter() for name in clients}
    before = cpu_snapshot(list(pids.values()))
    for index in range(warmup + calls):
        if index == warmup:
            before = cpu_snapshot(list(pids.values()))
        order = list(clients) if index % 2 == 0 else list(reversed(clients))
        for name in order:
            started = time.perf_counter()
            status, task = clients[name].next_task()
            elapsed = (time.perf_counter() - started) * 1000
            if index >= warmup:
                samples[name].append(elapsed)
                statuses[name][status] += 1
            if task is not None:
                clients[name].passed(task["lease"]["id"])
    after = cpu_snapshot(list(pids.values()))
    rounds = calls * len(clients)
    return {
        name: {
            "latency": percentiles(samples[name]),
            "statuses": dict(statuses[name]),
            "cpu": {
                "server": (after.processes[pid] - before.processes[pid]) / calls * 1000,
                "PostgreSQL (all databases)": (after.postgres - before.postgres) / rounds * 1000,
            },
        }
        for name, pid in pids.items()
    }


@dataclass
class Grant:
    """One lease as a client saw it, on the bench's single clock (time.perf_counter)."""

    client: int
    image_label: int
    lease: str
    granted: float  # the answer to next arrived
    live_until: float  # granted + the lease time the server gave
    released: float | None = None  # just before sending the release that then succeeded

    @property
    def end(self) -> float:
        return self.released if self.released is not None else self.live_until


@dataclass
class ClientStats:
    grants: list[Grant] = field(default_factory=list)
    granted_in_window: int = 0
    passes: int = 0  # releases answered 204, warm-up round included
    next_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


def annotator_loop(
    index: int,
    client: TaskClient,
    hold_max: float,
    barrier: threading.Barrier,
    window: dict[str, float],
    stats: ClientStats,
) -> None:
    """next, hold the task a moment, passed; one warm-up round before the window opens."""
    rng = random.Random(SEED + index)
    held: Grant | None = None  # a lease whose release has not succeeded yet

    def one_round(record: bool) -> None:
        nonlocal held
        started = time.perf_counter()
        status, task = client.next_task()
        got = time.perf_counter()
        if record:
            stats.next_ms.append((got - started) * 1000)
            stats.statuses[f"next {status}"] += 1
        if task is None:
            time.sleep(0.05)
            return
        lease_id = task["lease"]["id"]
        if held is None or held.lease != lease_id:  # else: our unreleased lease came back
            if held is not None:
                held.released = got  # the server gave it up by now at the latest
            expires = datetime.fromisoformat(task["lease"]["expires_at"]).timestamp()
            held = Grant(index, task["image_label"], lease_id, got, got + expires - time.time())
            stats.grants.append(held)
            if record:
                stats.granted_in_window += 1
        time.sleep(rng.uniform(0, hold_max))
        releasing = time.perf_counter()
        status = client.passed(lease_id)
        if record:
            stats.statuses[f"passed {status}"] += 1
        if status == 204:
            held.released = releasing
            held = None
            stats.passes += 1

    def guarded_round(record: bool) -> None:
        try:
            one_round(record)
        except (OSError, http.client.HTTPException) as error:
            # What happened to the lease is unknown: it stays open, as the server may hold it.
            stats.statuses[f"client error {type(error).__name__}"] += 1
            client.reconnect()

    try:
        guarded_round(record=False)
        barrier.wait()
        while time.perf_counter() < window["end"]:
            guarded_round(record=True)
    except threading.BrokenBarrierError:
        stats.statuses["client gave up: barrier broken"] += 1
    finally:
        client.close()


def duplicate_leases(grants: list[Grant]) -> dict[str, int]:
    """Overlapping holds of one image-label by different clients, and shared lease ids."""
    by_task: dict[int, list[Grant]] = defaultdict(list)
    by_lease: dict[str, list[Grant]] = defaultdict(list)
    for grant in grants:
        by_task[grant.image_label].append(grant)
        by_lease[grant.lease].append(grant)
    overlapping = sum(
        1
        for task_grants in by_task.values()
        for a, b in combinations(task_grants, 2)
        if a.client != b.client and a.granted < b.end and b.granted < a.end
    )
    shared_live = sum(
        1
        for lease_grants in by_lease.values()
        for a, b in combinations(sorted(lease_grants, key=lambda g: g.granted), 2)
        if a.client != b.client and b.granted < a.live_until
    )
    handed_on = sum(1 for g in by_task.values() if len({grant.client for grant in g}) > 1)
    return {
        "overlapping": overlapping,
        "shared_live": shared_live,
        "tasks": len(by_task),
        "handed_on": handed_on,
    }


def exclusivity_measure(
    ports: list[int], pids: list[int], clients: list[tuple[int, str]], args: argparse.Namespace
) -> dict[str, Any]:
    stats = [ClientStats() for _ in clients]
    window = {"start": 0.0, "end": 0.0}
    before = []

    def open_window() -> None:
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + args.duration
        before.append(cpu_snapshot(pids))

    barrier = threading.Barrier(len(clients), action=open_window)
    threads = [
        threading.Thread(
            target=annotator_loop,
            args=(
                index,
                TaskClient(ports[index % len(ports)], token),
                args.hold_ms / 1000,
                barrier,
                window,
                stats[index],
            ),
            daemon=True,
        )
        for index, (_, token) in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.duration + 120)
    after = cpu_snapshot(pids)
    start = before[0] if before else after
    seconds = after.at - start.at
    statuses: Counter[str] = Counter()
    for client_stats in stats:
        statuses.update(client_stats.statuses)
    next_ms = [ms for s in stats for ms in s.next_ms]
    granted = sum(s.granted_in_window for s in stats)
    server = sum(after.processes[pid] - start.processes.get(pid, 0.0) for pid in pids)
    return {
        "grants": [grant for s in stats for grant in s.grants],
        "passes": sum(s.passes for s in stats),
        "granted": granted,
        "per_s": granted / args.duration,
        "next": percentiles(next_ms) if len(next_ms) > 1 else None,
        "statuses": dict(sorted(statuses.items())),
        "cpu_cores": {
            "machine busy": (after.machine_busy - start.machine_busy) / seconds,
            "server": server / seconds,
            "PostgreSQL (all databases)": (after.postgres - start.postgres) / seconds,
            "bench client": (after.own - start.own) / seconds,
        }
        if seconds > 0
        else {},
    }


def database_check(url: str, contributor_ids: list[int]) -> dict[str, Any]:
    """After the run: two leases on one image-label (the schema forbids it), leftovers, passes."""
    conn = pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM (SELECT image_label_id FROM annotations_lease "
                "WHERE expires_at > now() GROUP BY image_label_id HAVING count(*) > 1) AS twice"
            )
            doubled = cur.fetchone()[0]
            cur.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'annotations_lease' "
                "AND indexdef LIKE 'CREATE UNIQUE INDEX%%(image_label_id)'"
            )
            unique = cur.fetchone() is not None
            cur.execute(
                "SELECT count(*) FROM annotations_lease WHERE contributor_id = ANY(%s)",
                [contributor_ids],
            )
            leftover = cur.fetchone()[0]
            cur.execute(
                "SELECT count(*) FROM annotations_annotationtaskmark "
                "WHERE contributor_id = ANY(%s) AND kind = 'passed'",
                [contributor_ids],
            )
            marks = cur.fetchone()[0]
    finally:
        conn.close()
    return {"doubled": doubled, "unique": unique, "leftover": leftover, "marks": marks}


def exclusivity_run(
    url: str, result: dict[str, Any], args: argparse.Namespace, data_dir: Path
) -> dict[str, Any]:
    clients = result["clients"]
    with app_servers(args.processes, worker_env(url, data_dir), data_dir) as servers:
        run = exclusivity_measure(
            [s.port for s in servers], [s.process.pid for s in servers], clients, args
        )
    duplicates = duplicate_leases(run["grants"])
    check = database_check(url, [contributor_id for contributor_id, _ in clients])
    print(
        f"\n=== Exclusivity at {result['scale']}: {len(clients)} clients over "
        f"{args.processes} server processes, {args.duration:.0f} s, holding each task "
        f"0-{args.hold_ms:.0f} ms ==="
    )
    print(
        f"  leases granted in the window: {run['granted']:,} = {run['per_s']:.0f} leases/s "
        f"({len(run['grants']):,} with the warm-up round; {duplicates['tasks']:,} image-labels)"
    )
    if run["next"]:
        print(f"  POST {NEXT_PATH} under contention: {fmt_latency(run['next'])}")
    print(f"  responses: {run['statuses']}")
    if run["cpu_cores"]:
        shares = ", ".join(f"{k} {v:.2f}" for k, v in run["cpu_cores"].items())
        print(f"  CPU in cores (of {os.cpu_count()}): {shares}")
    print(
        f"  image-labels leased to two or more clients in turn: {duplicates['handed_on']:,} "
        "(allowed: one after the other)"
    )
    print(
        f"  one lease id handed to two clients before its expires_at: {duplicates['shared_live']}"
    )
    print(
        f"  database afterwards: unique index on annotations_lease(image_label_id) "
        f"{'present' if check['unique'] else 'MISSING'}; image-labels with two live leases: "
        f"{check['doubled']}; leases left by the clients: {check['leftover']}"
    )
    print(
        f"  passes stored (task marks): {check['marks']:,}; releases the clients saw succeed: "
        f"{run['passes']:,}"
    )
    ok = duplicates["overlapping"] == 0 and duplicates["shared_live"] == 0
    print(f"  duplicate leases: {duplicates['overlapping']}   target 0: {verdict(ok)}", flush=True)
    return {**duplicates, "granted": run["granted"], "per_s": run["per_s"], "ok": ok}


def latency_run(
    urls: dict[str, str],
    results: dict[str, dict[str, Any]],
    args: argparse.Namespace,
    data_dir: Path,
) -> dict[str, dict[str, Any]]:
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(app_servers(1, worker_env(url, data_dir), data_dir))[0]
            for name, url in urls.items()
        }
        clients = {
            name: TaskClient(server.port, results[name]["http_token"])
            for name, server in servers.items()
        }
        try:
            measured = latency_measure(
                clients,
                {name: server.process.pid for name, server in servers.items()},
                args.calls,
                args.warmup,
            )
        finally:
            for client in clients.values():
                client.close()
    alternating = ", requests alternating between them" if len(urls) > 1 else ""
    print(
        f"\n=== POST {NEXT_PATH} over HTTP (lease included; each task then passed, untimed): "
        f"one server process per database{alternating} ==="
    )
    for name, figures in measured.items():
        print(f"  {name:<5} {fmt_latency(figures['latency'])}  {figures['statuses']}")
        print(f"        CPU ms per next + passed: {fmt_cpu(figures['cpu'])}")
    return measured


def summary(
    results: dict[str, dict[str, Any]],
    latency: dict[str, dict[str, Any]],
    exclusivity: dict[str, dict[str, Any]],
    biggest: str,
) -> None:
    print("\n=== Summary ===")
    for name, result in results.items():
        service, request = result["service"], result["request"]
        over_http = latency[name]["latency"]
        print(
            f"  {name:<5} ({result['counts']['tasks']:>7,} tasks)  service p50 "
            f"{service['p50']:5.1f} p95 {service['p95']:5.1f} ms   in-process request p50 "
            f"{request['p50']:5.1f} p95 {request['p95']:5.1f} ms   HTTP p50 "
            f"{over_http['p50']:5.1f} p95 {over_http['p95']:5.1f} ms"
        )
    p95 = latency[biggest]["latency"]["p95"]
    print(
        f"  HTTP p95 of next (lease included) at {biggest}: {p95:.1f} ms, target <= "
        f"{TARGET_P95_MS:.0f} ms: {verdict(p95 <= TARGET_P95_MS)}"
    )
    if "small" in latency and "full" in latency:
        ratio = latency["full"]["latency"]["p95"] / latency["small"]["latency"]["p95"]
        print(f"  HTTP p95 1M / 10k = {ratio:.2f}{TIMES} (flat cost; no target in the issue)")
    for name, run in exclusivity.items():
        print(
            f"  duplicate leases at {name}: {run['overlapping']} among {run['granted']:,} leases "
            f"({run['per_s']:.0f}/s, {run['handed_on']:,} image-labels passed between clients), "
            f"target 0: {verdict(run['ok'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        choices=["full", "small-only"],
        default="full",
        help="full: 10k and 1M (default); small-only: 10k only (a smoke run)",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--small-database-url", help="default: the --database-url name with '_small' appended"
    )
    parser.add_argument("--reseed", action="store_true", help="drop and reseed the databases")
    parser.add_argument("--calls", type=int, default=500, help="timed calls (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first (default 50)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument(
        "--duration", type=float, default=30.0, help="exclusivity window in seconds (default 30)"
    )
    parser.add_argument(
        "--hold-ms", type=float, default=20.0, help="longest hold of a task (default 20)"
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="server processes for exclusivity (default 2)"
    )
    parser.add_argument("--worker", choices=sorted(SCALES), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calls < 2 or args.warmup < 0 or args.clients < 1 or args.duration <= 0:
        parser.error("--calls >= 2, --warmup >= 0, --clients >= 1 and --duration > 0 please")
    check_local(args.database_url)
    if args.worker:
        worker(args)
        return

    small_url = args.small_database_url or with_database(
        args.database_url, database_name(args.database_url) + "_small"
    )
    check_local(small_url)
    urls = {"small": small_url}
    if args.scale == "full":
        urls["full"] = args.database_url
    biggest = list(urls)[-1]
    print("Next annotation task benchmark")
    print("\n".join(machine_info(args.database_url)))
    print(
        f"Parameters: scale={args.scale}, {args.calls} timed calls after {args.warmup} warm-up; "
        f"exclusivity: {args.clients} clients, {args.processes} server processes, "
        f"{args.duration:.0f} s, hold 0-{args.hold_ms:.0f} ms"
    )
    print(
        "Rate limits count (RATELIMIT_ENABLE on), raised for the one address all requests "
        "come from. "
        f"DATABASE_POOL: {os.environ.get('DATABASE_POOL', 'app default (on)')}."
    )
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-annotate-"))
    try:
        results = {name: run_worker(name, url, args, data_dir) for name, url in urls.items()}
        latency = latency_run(urls, results, args, data_dir)
        exclusivity = {
            name: exclusivity_run(url, results[name], args, data_dir) for name, url in urls.items()
        }
        summary(results, latency, exclusivity, biggest)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
