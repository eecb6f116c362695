"""Benchmark: the next validation task and vote submission on a 1M-image PostgreSQL database.

It seeds a dedicated PostgreSQL database with 1M unlocked images, 3M image-labels and about
10M votes (server-side bulk loading), and a second one with 10k image-labels, then measures,
for a voter (trust level 1, training passed) with exactly 1,000 prior votes:

* service - ``next_validation_task(contributor=voter)`` in-process: p50/p95/p99, CPU per call
  (Django process and its PostgreSQL backend), SQL per statement kind, and the same call on a
  new database connection (what every request paid before the connection pool); the gold
  share of tasks is the real one (~2 % for this voter);
* HTTP - ``GET /api/validations/next/`` with an API token and a keep-alive client against
  the server ``manage.py serve`` starts (uvicorn, its exact command line): p50/p95/p99 and CPU
  per request. With both databases, one server per database and the requests alternate
  between them, so both sizes see the same machine load; the Django test client gives the
  in-process breakdown beside it, and a profile of it says where the CPU goes (by package);
* vote throughput - N client threads, each a different voter, loop ``GET next`` then
  ``POST /api/votes/`` for a fixed time against 1 and then 2 server worker processes on one
  port: votes/s, POST p50/p99, errors by status, and where the CPU went. Then the grid flow an
  integrator or the grid page uses: ``GET /api/validations/grid/`` (24 questions of one of the
  20 busiest labels) and one ``POST /api/votes/batch/`` with all answers, against the larger
  number of processes.

Targets (from the issues): HTTP p95 <= 8 ms at 1M and <= 1.2 x its 10k figure; >= 250 votes/s
in the single-vote flow and >= 1,000 in the grid flow; POST /api/votes/ p50 <= 4 ms. Rate
limits count as in production (RATELIMIT_ENABLE on, counters in Redis), with the limits raised
because every request comes from one address. It is a benchmark, not a test: the exit code is
0 whatever the verdicts.

Seeding is resumable and idempotent: each stage is recorded in the ``bench_seed_state`` table of
the bench database and skipped once done, so a rerun goes straight to the measurements;
``--reseed`` drops and recreates the databases. The big tables are loaded without their
secondary indexes and foreign keys, which are then recreated from the definitions saved just
before dropping them and checked to be identical.

Run from the repository root::

    .venv/bin/python bench/next_task.py                    # 1M and 10k, ratio, vote throughput
    .venv/bin/python bench/next_task.py --scale small      # 10k only, throughput included
    .venv/bin/python bench/next_task.py --scale small-only # 10k service + HTTP: a smoke run

The first full run seeds for about seven minutes; reruns take about three.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/imagemonkey_bench"
REDIS_URL = "redis://127.0.0.1:6379/4"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
SEED = 20240611
TARGET_HTTP_P95_MS = 8.0
TARGET_FLAT_RATIO = 1.2
TARGET_VOTES_PER_S = 250.0
TARGET_GRID_VOTES_PER_S = 1000.0
TARGET_POST_P50_MS = 4.0
# Limits for the bench's one address, far above what it reaches, so counting costs what it does
# in production without refusing anything.
RAISED_RATE_LIMITS = {
    scope: {"minute": [10**7] * 3 + [None], "day": [10**9] * 3 + [None]}
    for scope in ("vote", "task", "annotation")
}
MEASURED_PRIOR_VOTES = 1000
MEASURED_USERNAME = "bench-measured-voter"
LABELS_PER_IMAGE = 3
STATE_TABLE = "bench_seed_state"
BIG_TABLES = ["donations_image", "labels_app_imagelabel", "validations_vote"]
NEXT_PATH = "/api/validations/next/"
VOTE_PATH = "/api/votes/"
GRID_PATH = "/api/validations/grid/"
BATCH_PATH = "/api/votes/batch/"
BATCH_SIZE = 24  # the grid's largest page
TIMES = "\N{MULTIPLICATION SIGN}"
# Strides for spreading voters over items: coprime with the pool size gives distinct voters.
STRIDE_PRIMES = (12503, 7919, 6007, 4493, 3001, 1009, 211, 97, 89, 83)
AGREEING_SHARE = 0.065
AGREEING_MEAN_VOTES = 3.5


@dataclass(frozen=True)
class Scale:
    name: str
    image_labels: int
    donors: int
    voters: int
    target_votes: int

    @property
    def images(self) -> int:
        return math.ceil(self.image_labels / LABELS_PER_IMAGE)

    @property
    def gold_items(self) -> int:
        # Gold image-labels are the ids n with n % 100 == 37 (about 1 %).
        return (self.image_labels - 37) // 100 + 1

    @property
    def chunk(self) -> int:
        return 300_000


SCALES = {
    "full": Scale("full", 3_000_000, donors=1000, voters=50_000, target_votes=10_000_000),
    "small": Scale("small", 10_000, donors=10, voters=170, target_votes=33_333),
}


# --- Small helpers ----------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "n": len(samples),
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "mean": statistics.fmean(samples),
        "max": max(samples),
    }


def fmt_latency(stats: dict[str, float]) -> str:
    return (
        f"p50 {stats['p50']:6.2f} ms   p95 {stats['p95']:6.2f} ms   p99 {stats['p99']:6.2f} ms"
        f"   (mean {stats['mean']:.2f}, max {stats['max']:.1f}, n={stats['n']})"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pg_connect(url: str) -> psycopg.Connection:
    """A connection for seeding. Client-side binding, as the seeding SQL passes parameters where
    server-side binding cannot (DDL, arrays given as literals)."""
    return psycopg.connect(url, cursor_factory=psycopg.ClientCursor)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def check_local(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"Refusing to use {host!r}: this benchmark only talks to 127.0.0.1.")


@dataclass
class CpuSnapshot:
    """CPU seconds used so far: machine-wide (busy), this process, PostgreSQL, given processes."""

    at: float
    machine_busy: float
    own: float
    postgres: float
    processes: dict[int, float]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> dict[int, tuple[str, int, float, float]]:
    """pid -> (command, parent pid, own CPU seconds, CPU seconds of reaped children)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        children = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
        stats[int(entry.name)] = (command, int(fields[1]), own, children)
    return stats


def _family_cpu(procs: dict[int, tuple[str, int, float, float]], pid: int) -> float:
    """CPU seconds of a process and every process below it (a server's workers)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        if current in procs:
            total += procs[current][2]
            pending.extend(child for child, (_, parent, _, _) in procs.items() if parent == current)
    return total


def cpu_snapshot(pids: list[int]) -> CpuSnapshot:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    times = os.times()
    procs = _proc_stats()
    # Backends live for one request when connections are not kept, so they are counted through
    # the postmaster, which collects the CPU time of the children it reaps.
    postmasters = {
        pid
        for pid, (command, parent, _, _) in procs.items()
        if command == "postgres" and procs.get(parent, ("",))[0] != "postgres"
    }
    postgres = sum(procs[pid][2] + procs[pid][3] for pid in postmasters) + sum(
        own for _, parent, own, _ in procs.values() if parent in postmasters
    )
    return CpuSnapshot(
        at=time.perf_counter(),
        machine_busy=(sum(values[:8]) - idle) / CLOCK_TICKS,
        own=times.user + times.system,
        postgres=postgres,
        processes={pid: _family_cpu(procs, pid) for pid in pids},
    )


# --- Database creation ------------------------------------------------------------------------


def database_ensure(url: str, *, reseed: bool) -> bool:
    """Create the bench database if missing (dropping it first on reseed); True if created."""
    name = database_name(url)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"Unexpected database name {name!r}.")
    admin = pg_connect(with_database(url, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cur.fetchone() is not None
            if exists and reseed:
                print(f"  dropping database {name} (--reseed)", flush=True)
                cur.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                exists = False
            if not exists:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        admin.close()
    return not exists


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        stderr=subprocess.DEVNULL,
    )


# --- Seeding SQL ------------------------------------------------------------------------------

# Inlined by the planner (single-expression SQL functions), so they cost nothing per row; they
# keep one definition of each generated value shared by the image-label and vote statements,
# which is what makes the image-label counters match the votes exactly.
SEED_FUNCTIONS = r"""
CREATE FUNCTION pg_temp.bench_u(n bigint, seed bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(n, seed) & 2147483647)::float8 / 2147483648.0;

-- Image i's id, in the layout of the site's UUIDv7 ids: image i's place where the time goes
-- (so the ids' order is the order of donation, as on the site), version 7, the variant, and
-- random bits from a hash.
CREATE FUNCTION pg_temp.bench_image_uuid(i bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (lpad(to_hex(i), 12, '0') || '7' || substr(md5('image' || i), 1, 3) || '8'
        || substr(md5('image' || i), 4, 15))::uuid;

CREATE FUNCTION pg_temp.bench_image_created(i bigint, images bigint, anchor timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN anchor - interval '1000 days' + (i::float8 / images) * interval '1000 days';

-- Position (1-based) of an image's donor: a few donors give most of the photos.
CREATE FUNCTION pg_temp.bench_donor(i bigint, donors int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN floor(donors * pg_temp.bench_u(i, 30) ^ 3)::int + 1;

-- Position (1-based) of label k of image i: three distinct labels, popular ones more often.
CREATE FUNCTION pg_temp.bench_label(i bigint, k int, labels int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (floor(labels * pg_temp.bench_u(i, 21) ^ 2)::int
        + CASE WHEN k >= 1 THEN 1 + floor(pg_temp.bench_u(i, 22) * (labels / 2 - 1))::int
               ELSE 0 END
        + CASE WHEN k = 2 THEN 1 + floor(pg_temp.bench_u(i, 23) * (labels / 2 - 1))::int
               ELSE 0 END) % labels + 1;

CREATE FUNCTION pg_temp.bench_gold_answer(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_temp.bench_u(n, 4) < 0.5 THEN 'yes' ELSE 'no' END;

-- Ordinary answers image-label n received: none on gold items (theirs are training answers),
-- 2-5 agreeing answers on a share of items (most of them decided), 0..contested_scale mixed
-- answers on the rest.
CREATE FUNCTION pg_temp.bench_ballots(n bigint, agreeing float8, contested_scale float8)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN n % 100 = 37 THEN 0
            WHEN pg_temp.bench_u(n, 1) < agreeing THEN 2 + floor(pg_temp.bench_u(n, 2) * 4)::int
            ELSE floor(pg_temp.bench_u(n, 2) * contested_scale)::int END;

-- Alternating answers keep contested items undecided, as a real disagreement would.
CREATE FUNCTION pg_temp.bench_answer(n bigint, j int, agreeing float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN pg_temp.bench_u(n, 1) < agreeing
                 THEN CASE WHEN pg_temp.bench_u(n, 3) < 0.6 THEN 'yes' ELSE 'no' END
            WHEN pg_temp.bench_u(n, 100 + j) < 0.1 THEN 'unsure'
            WHEN (j + (pg_temp.bench_u(n, 3) < 0.5)::int) % 2 = 0 THEN 'yes'
            ELSE 'no' END;

-- Pool position (1-based) of the j-th voter on image-label n: distinct for j < pool.
CREATE FUNCTION pg_temp.bench_voter(n bigint, j int, pool int, stride int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ((n * 7 + j::bigint * stride) % pool)::int + 1;
"""


@dataclass(frozen=True)
class BulkRows:
    """Rows generated server-side: SQL expressions per column over a FROM clause.

    The column list comes from the Django model when the statement is built, so a column the
    app gained since this was written gets its model default, and one it lost is left out.
    """

    model: str
    columns: dict[str, str]
    source: str


CONTRIBUTOR_ROWS = BulkRows(
    model="contributors.Contributor",
    columns={
        "id": "id",
        "created_at": "created",
        "trust_level": "level",
        "gold_answered": "answered",
        "gold_correct": "correct",
        "votes_counted": "counted",
        "training_passed_at": "passed",
    },
    source="""
FROM unnest(%(c_ids)s::bigint[], %(c_created)s::timestamptz[], %(c_level)s::smallint[],
            %(c_answered)s::int[], %(c_correct)s::int[], %(c_counted)s::bool[],
            %(c_passed)s::timestamptz[])
     AS s(id, created, level, answered, correct, counted, passed)
""",
)

IMAGE_ROWS = BulkRows(
    model="donations.Image",
    columns={
        "id": "u",
        "file": "'images/' || left(u::text, 2) || '/' || u || '.jpg'",
        "thumbnail_small": "'thumbnails/' || left(u::text, 2) || '/' || u || '-256.webp'",
        "thumbnail_large": "'thumbnails/' || left(u::text, 2) || '/' || u || '-1024.webp'",
        "media_type": "'image/jpeg'",
        "byte_size": "180000 + floor(pg_temp.bench_u(i, 31) * 5000000)::int",
        "width": "(ARRAY[4032, 3024, 1920, 1080, 2048, 1536, 3264, 2448])[shape]",
        "height": "(ARRAY[3024, 4032, 1080, 1920, 1536, 2048, 2448, 3264])[shape]",
        "original_format": "'jpeg'",
        "sha256": "sha",
        "phash": "ph",
        "phash_band0": "('x' || substr(ph, 1, 4))::bit(16)::int",
        "phash_band1": "('x' || substr(ph, 5, 4))::bit(16)::int",
        "phash_band2": "('x' || substr(ph, 9, 4))::bit(16)::int",
        "phash_band3": "('x' || substr(ph, 13, 4))::bit(16)::int",
        "status": "'unlocked'",
        "cc0_confirmed": "true",
        "random_key": "pg_temp.bench_u(i, 6)",
        "label_count": "least(%(labels_per_image)s, "
        "%(image_labels)s - %(labels_per_image)s * (i - 1))",
        "created_at": "created",
        "reviewed_at": "created + interval '2 hours'",
        "donor_id": "(%(donor_ids)s::bigint[])[pg_temp.bench_donor(i, %(donors)s)]",
    },
    source="""
FROM (
    SELECT i, pg_temp.bench_image_uuid(i) AS u,
           md5('sha256-a' || i) || md5('sha256-b' || i) AS sha,
           substr(md5('phash' || i), 1, 16) AS ph,
           pg_temp.bench_image_created(i, %(images)s, %(anchor)s) AS created,
           1 + floor(pg_temp.bench_u(i, 32) * 8)::int AS shape
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
    OFFSET 0
) AS s
""",
)

IMAGE_LABEL_ROWS = BulkRows(
    model="labels_app.ImageLabel",
    columns={
        "id": "n",
        "created_at": "created",
        "yes_count": "yes",
        "no_count": "no",
        "unsure_count": "unsure",
        "counted_votes": "counted",
        "evidence": "evidence",
        # The seeded voters are the site's established members.
        "established_evidence": "evidence",
        # The app's rule: a gold item's known answer is private; its public numbers come from
        # its votes like any item's.
        "probability": "1.0 / (1.0 + exp(-evidence))",
        "state": "CASE WHEN evidence >= %(decisive)s THEN 'confirmed' "
        "WHEN evidence <= -%(decisive)s THEN 'rejected' ELSE 'open' END",
        "gold_answer": "gold",
        "gold_pool": "CASE WHEN gold = '' THEN '' ELSE 'hidden' END",
        "gold_trainees": "0",
        "in_queue": "evidence > -%(decisive)s AND evidence < %(decisive)s",
        # The app's rule: confirmed object labels on public images wait to be outlined.
        "needs_annotation": "evidence >= %(decisive)s AND (%(label_is_object)s::bool[])[label_pos]",
        "random_key": "random_key",
        "sort_key": "least(counted, 10) + abs(evidence) + random_key",
        "added_by_id": "CASE WHEN k = 0 "
        "THEN (%(donor_ids)s::bigint[])[pg_temp.bench_donor(i, %(donors)s)] "
        "ELSE (%(pool_ids)s::bigint[])[pg_temp.bench_voter(i, k, %(pool)s, %(stride)s)] END",
        "image_id": "pg_temp.bench_image_uuid(i)",
        "label_id": "(%(label_ids)s::bigint[])[label_pos]",
    },
    source="""
FROM (
    SELECT n, i, k, pg_temp.bench_u(n, 5) AS random_key,
           pg_temp.bench_label(i, k, %(labels)s) AS label_pos,
           CASE WHEN n %% 100 = 37 THEN pg_temp.bench_gold_answer(n) ELSE '' END AS gold,
           pg_temp.bench_image_created(i, %(images)s, %(anchor)s)
               + k * interval '3 minutes' AS created
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
    CROSS JOIN LATERAL (SELECT (n - 1) / 3 + 1 AS i, ((n - 1) %% 3)::int AS k) AS ik
    OFFSET 0
) AS s
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE a = 'yes') AS yes,
           count(*) FILTER (WHERE a = 'no') AS no,
           count(*) FILTER (WHERE a = 'unsure') AS unsure,
           count(*) FILTER (WHERE w > 0) AS counted,
           coalesce(sum(CASE a WHEN 'yes' THEN w WHEN 'no' THEN -w ELSE 0 END), 0) AS evidence
    FROM (
        SELECT pg_temp.bench_answer(n, j, %(agreeing)s) AS a,
               (%(pool_weights)s::float8[])[pg_temp.bench_voter(n, j, %(pool)s, %(stride)s)] AS w
        FROM generate_series(0, pg_temp.bench_ballots(n, %(agreeing)s, %(contested)s) - 1) AS j
    ) AS ballots
) AS tally
""",
)

VOTE_ROWS = BulkRows(
    model="validations.Vote",
    columns={
        "answer": "pg_temp.bench_answer(n, j, %(agreeing)s)",
        "counted": "w > 0",
        "weight": "w",
        "on_gold": "false",
        "created_at": "least(%(anchor)s, "
        "created + (j + 1) * pg_temp.bench_u(n, 200 + j) * interval '20 days')",
        "contributor_id": "(%(pool_ids)s::bigint[])[p]",
        "image_label_id": "n",
    },
    source="""
FROM (
    SELECT n, pg_temp.bench_image_created((n - 1) / 3 + 1, %(images)s, %(anchor)s)
                  + ((n - 1) %% 3) * interval '3 minutes' AS created
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
    OFFSET 0
) AS s
CROSS JOIN LATERAL
    generate_series(0, pg_temp.bench_ballots(n, %(agreeing)s, %(contested)s) - 1) AS j
CROSS JOIN LATERAL (SELECT pg_temp.bench_voter(n, j, %(pool)s, %(stride)s) AS p) AS position
CROSS JOIN LATERAL (SELECT (%(pool_weights)s::float8[])[p] AS w) AS weight
""",
)

# Gold answers: voter q answered gold_answered[q] distinct gold items, the first
# gold_correct[q] of them right; gold items are the image-labels 100 * g + 37.
GOLD_VOTE_ROWS = BulkRows(
    model="validations.Vote",
    columns={
        "answer": "CASE WHEN t < (%(correct)s::int[])[q] THEN pg_temp.bench_gold_answer(n) "
        "WHEN pg_temp.bench_gold_answer(n) = 'yes' THEN 'no' ELSE 'yes' END",
        "counted": "false",
        "weight": "0",
        "on_gold": "true",
        "created_at": "%(anchor)s - interval '400 days' * pg_temp.bench_u(q * 1000 + t, 40)",
        "contributor_id": "(%(voter_ids)s::bigint[])[q]",
        "image_label_id": "n",
    },
    source="""
FROM generate_series(1, %(voters)s) AS q
CROSS JOIN LATERAL generate_series(0, (%(answered)s::int[])[q] - 1) AS t
CROSS JOIN LATERAL (
    SELECT 100 * ((q * 7 + t::bigint * %(gold_stride)s) %% %(gold_items)s) + 37 AS n
) AS item
""",
)


def insert_statement(rows: BulkRows) -> tuple[str, dict[str, Any], list[str]]:
    """INSERT … SELECT for the model's current columns; also the columns left at defaults."""
    from django.apps import apps
    from django.db import connection

    model = apps.get_model(rows.model)
    names, values, defaults, defaulted = [], [], {}, []
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column in rows.columns:
            values.append(rows.columns[column])
        elif model_field.primary_key and model_field.db_returning:
            continue  # an identity column: the database numbers the rows
        else:
            key = f"default_{column}"
            defaults[key] = model_field.get_db_prep_save(model_field.get_default(), connection)
            values.append(f"%({key})s")
            defaulted.append(f"{model._meta.db_table}.{column}")
        names.append(column)
    statement = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) "
        f"SELECT {', '.join(values)} {rows.source}"
    )
    return statement, defaults, defaulted


UPDATE_VOTES_CAST = """
UPDATE contributors_contributor AS c SET votes_cast = v.cast
FROM (SELECT contributor_id, count(*) AS cast FROM validations_vote GROUP BY contributor_id) AS v
WHERE c.id = v.contributor_id AND c.votes_cast <> v.cast
"""

SCHEMA_SIGNATURE = """
SELECT 'index', c.relname, i.relname, pg_get_indexdef(i.oid)
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS c ON c.oid = x.indrelid
WHERE c.relname = ANY(%(tables)s) AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k
                  WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)
UNION ALL
SELECT CASE k.contype WHEN 'u' THEN 'unique' ELSE 'foreign key' END, c.relname, k.conname,
       pg_get_constraintdef(k.oid)
FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid
WHERE c.relname = ANY(%(tables)s) AND k.contype IN ('u', 'f')
ORDER BY 1, 2, 3
"""


# --- Seeding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoterProfile:
    contributor_id: int
    gold_answered: int
    gold_correct: int
    votes_counted: bool
    trust_level: int
    passed_training: bool
    weight: float


def voter_profiles(scale: Scale, first_id: int) -> list[VoterProfile]:
    """Voters whose standing follows the app's own training and trust rules."""
    from django.conf import settings

    from trust.arithmetic import fails_gold_checks, passes_training, vote_weight, wilson_bounds

    rng = random.Random(SEED)
    z = settings.TRAINING_CONFIDENCE_Z
    bound = settings.TRAINING_ACCURACY_BOUND
    minimum = settings.TRAINING_MIN_GOLD
    profiles = []
    for index in range(scale.voters):
        draw = rng.random()
        if draw < 0.06:
            answered = rng.randint(1, minimum - 1)
            correct = answered - int(rng.random() < 0.3)
            counted, passed, level = False, False, 0
        elif draw < 0.09:
            # Demoted: passed once, gold accuracy now confidently below the bound.
            while True:
                answered = rng.randint(20, 45)
                correct = round(answered * rng.uniform(0.5, 0.66))
                if fails_gold_checks(correct=correct, answered=answered, bound=bound, z=z):
                    break
            counted, passed, level = False, True, 0
        else:
            while True:
                answered = rng.randint(minimum, 60)
                correct = answered - sum(rng.random() < 0.04 for _ in range(answered))
                if passes_training(
                    correct=correct, answered=answered, min_answered=minimum, bound=bound, z=z
                ) and not fails_gold_checks(correct=correct, answered=answered, bound=bound, z=z):
                    break
            counted, passed = True, True
            trusted = (
                answered >= settings.TRUST_TRUSTED_MIN_GOLD
                and wilson_bounds(correct, answered, z)[0] >= settings.TRUST_TRUSTED_ACCURACY_BOUND
            )
            level = 2 if trusted else 1
        weight = (
            vote_weight(correct=correct, answered=answered, cap=settings.CONSENSUS_MAX_VOTE_WEIGHT)
            if counted
            else 0.0
        )
        assert weight > 0 or not counted
        profiles.append(
            VoterProfile(first_id + index, answered, correct, counted, level, passed, weight)
        )
    return profiles


def contributor_arrays(profiles: list[VoterProfile], donors: int) -> dict[str, list]:
    """Donors (ids 1..donors) then voters, as columns for CONTRIBUTOR_ROWS."""
    anchor = datetime.now(UTC)
    ids, created, passed = [], [], []
    for donor in range(1, donors + 1):
        ids.append(donor)
        created.append(anchor - timedelta(days=1100 - donor % 1000))
        passed.append(None)
    for profile in profiles:
        joined = anchor - timedelta(days=1000 * (profile.contributor_id % 997) / 997 + 1)
        ids.append(profile.contributor_id)
        created.append(joined)
        passed.append(joined + timedelta(days=1) if profile.passed_training else None)
    return {
        "c_ids": ids,
        "c_created": created,
        "c_passed": passed,
        "c_level": [0] * donors + [p.trust_level for p in profiles],
        "c_answered": [0] * donors + [p.gold_answered for p in profiles],
        "c_correct": [0] * donors + [p.gold_correct for p in profiles],
        "c_counted": [False] * donors + [p.votes_counted for p in profiles],
    }


def expected_floor_votes(scale_value: float) -> float:
    """E[floor(U * c)] for U uniform on [0, 1)."""
    return sum(1 - k / scale_value for k in range(1, math.floor(scale_value) + 1))


def contested_scale(scale: Scale, gold_votes: int) -> float:
    """The spread of contested items' vote counts that lands the total near the target."""
    ordinary = scale.image_labels - scale.gold_items
    per_item = (scale.target_votes - gold_votes - MEASURED_PRIOR_VOTES) / ordinary
    wanted = (per_item - AGREEING_SHARE * AGREEING_MEAN_VOTES) / (1 - AGREEING_SHARE)
    low, high = 1.0, 50.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if expected_floor_votes(middle) < wanted else (low, middle)
    return low


def pg_array(values: list) -> str:
    """An array literal: parsed once by array_in, unlike ARRAY[...] of literals."""

    def item(value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            return f'"{value.isoformat()}"'
        return repr(value)

    return "{" + ",".join(item(value) for value in values) + "}"


def coprime_stride(size: int) -> int:
    return next(p for p in STRIDE_PRIMES if math.gcd(p, size) == 1)


class Seeder:
    """Bulk-loads one bench database; each stage is recorded and skipped once done."""

    def __init__(self, url: str, scale: Scale) -> None:
        self.scale = scale
        self.seeded_now = False
        self.conn = pg_connect(url)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            # Session-only settings for the load; nothing the app's own connections see.
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute("SET work_mem = '256MB'")
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} "
                "(key text PRIMARY KEY, value jsonb NOT NULL)"
            )
            cur.execute(SEED_FUNCTIONS)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.conn.transaction(), self.conn.cursor() as cur:  # commits, or rolls back
            yield cur

    # State

    def state(self, key: str) -> Any:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT value FROM {STATE_TABLE} WHERE key = %s", [key])  # noqa: S608
            row = cur.fetchone()
        return row[0] if row else None

    def state_set(self, cur, key: str, value: Any) -> None:
        cur.execute(
            f"INSERT INTO {STATE_TABLE} (key, value) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [key, json.dumps(value)],
        )

    def count(self, table: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            return cur.fetchone()[0]

    # Stages

    def config(self) -> dict[str, Any]:
        """The seeding record of this database: created on the first run, and refused when an
        earlier run used other parameters. `complete` says whether there is anything to do."""
        config = self.state("config")
        wanted = asdict(self.scale)
        if config is None:
            config = {**wanted, "anchor": datetime.now(UTC).isoformat(), "complete": False}
            with self.conn.cursor() as cur:
                self.state_set(cur, "config", config)
        elif {k: config.get(k) for k in wanted} != wanted:
            raise SystemExit(
                f"Database {self.conn.info.dbname} was seeded with other parameters; "
                "rerun with --reseed."
            )
        self.seeded_now = not config["complete"]
        return config

    def run(self) -> dict[str, Any]:
        """Seed whatever is missing; returns the seeding record (parameters, seconds)."""
        started = time.perf_counter()
        config = self.config()
        if config["complete"]:
            return config

        labels = self.labels_sync()
        donors = list(range(1, self.scale.donors + 1))
        profiles = voter_profiles(self.scale, first_id=self.scale.donors + 1)
        pool = [p for p in profiles if p.passed_training]
        gold_votes = sum(p.gold_answered for p in profiles)
        params: dict[str, Any] = {
            "anchor": datetime.fromisoformat(config["anchor"]),
            "images": self.scale.images,
            "image_labels": self.scale.image_labels,
            "labels_per_image": LABELS_PER_IMAGE,
            "donor_ids": donors,
            "donors": len(donors),
            "label_ids": [pk for pk, _ in labels],
            "label_is_object": [is_object for _, is_object in labels],
            "labels": len(labels),
            "pool_ids": [p.contributor_id for p in pool],
            "pool_weights": [p.weight for p in pool],
            "pool": len(pool),
            "stride": coprime_stride(len(pool)),
            "agreeing": AGREEING_SHARE,
            "contested": contested_scale(self.scale, gold_votes),
            "decisive": decisive_evidence(),
            "voter_ids": [p.contributor_id for p in profiles],
            "answered": [p.gold_answered for p in profiles],
            "correct": [p.gold_correct for p in profiles],
            "voters": len(profiles),
            "gold_items": self.scale.gold_items,
            "gold_stride": coprime_stride(self.scale.gold_items),
        }
        assert max(p.gold_answered for p in profiles) <= self.scale.gold_items
        params.update(contributor_arrays(profiles, self.scale.donors))
        statements = {}
        defaulted: list[str] = []
        for name, rows in (
            ("contributors", CONTRIBUTOR_ROWS),
            ("images", IMAGE_ROWS),
            ("image-labels", IMAGE_LABEL_ROWS),
            ("votes", VOTE_ROWS),
            ("gold votes", GOLD_VOTE_ROWS),
        ):
            statement, defaults, left = insert_statement(rows)
            statements[name] = statement
            params.update(defaults)
            defaulted += [column for column in left if column not in defaulted]
        print(f"  columns left at their model default: {', '.join(defaulted) or 'none'}")
        params = {k: pg_array(v) if isinstance(v, list) else v for k, v in params.items()}

        self.stage("contributors", lambda: self.execute(statements["contributors"], params))
        if self.state("stage:restore") is None:
            self.constraints_drop()
        self.stage_chunked("images", statements["images"], self.scale.images, params)
        self.stage_chunked(
            "image-labels", statements["image-labels"], self.scale.image_labels, params
        )
        self.stage_chunked("votes", statements["votes"], self.scale.image_labels, params)
        self.stage("gold votes", lambda: self.execute(statements["gold votes"], params))
        self.stage("votes cast", lambda: self.execute(UPDATE_VOTES_CAST))
        self.stage("restore", self.constraints_restore)
        self.stage("sequences", self.sequences_reset)
        self.stage("vacuum analyze", self.vacuum_analyze)
        config["complete"] = True
        config["seconds"] = round(time.perf_counter() - started, 1)
        with self.conn.cursor() as cur:
            self.state_set(cur, "config", config)
        return config

    def stage(self, name: str, work: Callable[[], object]) -> None:
        key = f"stage:{name}"
        if self.state(key) is not None:
            return
        started = time.perf_counter()
        print(f"  {name}…", end="", flush=True)
        work()
        elapsed = time.perf_counter() - started
        with self.conn.cursor() as cur:
            self.state_set(cur, key, {"seconds": round(elapsed, 1)})
        print(f" {elapsed:.1f} s", flush=True)

    def stage_chunked(self, name: str, statement: str, total: int, params: dict) -> None:
        """Insert rows 1..total in committed chunks; a rerun continues after the last one."""
        key = f"stage:{name}"
        progress = self.state(key) or {"done": 0, "seconds": 0.0}
        if progress["done"] >= total:
            return
        print(f"  {name}: {total:,} ids", end="", flush=True)
        while progress["done"] < total:
            started = time.perf_counter()
            low = progress["done"] + 1
            high = min(total, progress["done"] + self.scale.chunk)
            with self.transaction() as cur:  # the rows and their progress mark together
                cur.execute(statement, {**params, "lo": low, "hi": high})
                progress = {
                    "done": high,
                    "seconds": round(progress["seconds"] + time.perf_counter() - started, 1),
                }
                self.state_set(cur, key, progress)
            print(".", end="", flush=True)
        print(f" {progress['seconds']:.1f} s", flush=True)

    def execute(self, statement: str, params: dict | None = None) -> None:
        with self.transaction() as cur:
            cur.execute(statement, params)

    def labels_sync(self) -> list[tuple[int, bool]]:
        """The catalog's labels (via the app's own sync); (id, is an object) for each."""
        import io

        from django.core.management import call_command

        from labels_app.models import Label, LabelKind

        call_command("sync_labels", verbosity=0, stdout=io.StringIO())
        return [
            (pk, kind == LabelKind.OBJECT)
            for pk, kind in Label.objects.filter(active=True)
            .exclude(kind=LabelKind.REFINEMENT)
            .order_by("pk")
            .values_list("pk", "kind")
        ]

    def signature(self) -> list[list[str]]:
        with self.conn.cursor() as cur:
            cur.execute(SCHEMA_SIGNATURE, {"tables": BIG_TABLES})
            return [list(row) for row in cur.fetchall()]

    def constraints_drop(self) -> None:
        """Save, then drop, the secondary indexes, unique constraints and foreign keys."""
        saved = self.state("schema")
        if saved is None:
            saved = self.signature()
            with self.conn.cursor() as cur:
                self.state_set(cur, "schema", saved)
        with self.transaction() as cur:
            for kind, table, name, _definition in self.signature():
                if kind == "index":
                    cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                else:
                    cur.execute(
                        sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                            sql.Identifier(table), sql.Identifier(name)
                        )
                    )

    def constraints_restore(self) -> None:
        """Recreate exactly what was dropped (then compare), indexes before foreign keys."""
        saved = self.state("schema")
        present = {tuple(row) for row in self.signature()}
        order = {"index": 0, "unique": 1, "foreign key": 2}
        with self.conn.cursor() as cur:
            cur.execute("SET max_parallel_maintenance_workers = 2")
            for kind, table, name, definition in sorted(saved, key=lambda r: order[r[0]]):
                if (kind, table, name, definition) in present:
                    continue
                if kind == "index":
                    cur.execute(definition)
                else:
                    cur.execute(
                        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                            sql.Identifier(table), sql.Identifier(name)
                        )
                        + sql.SQL(definition)
                    )
        restored = self.signature()
        if restored != saved:
            raise SystemExit(f"Schema differs after restoring it:\n{restored}\nvs\n{saved}")
        print(f" ({len(saved)} indexes and constraints, identical)", end="", flush=True)

    def sequences_reset(self) -> None:
        with self.conn.cursor() as cur:
            for table in ("contributors_contributor", "labels_app_imagelabel"):
                cur.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {}))"
                    ).format(sql.Identifier(table)),
                    [table],
                )

    def vacuum_analyze(self) -> None:
        with self.conn.cursor() as cur:
            for table in ("contributors_contributor", *BIG_TABLES):
                cur.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def decisive_evidence() -> float:
    from trust.evidence import decisive_evidence as app_decisive

    return app_decisive()


# --- Voters for the measurements --------------------------------------------------------------


def measured_voter_prepare() -> Any:
    """A passed voter (trust level 1, or 2 once gold promotes them) with exactly 1,000 votes.

    The votes go where the queue sent this voter, the way a real session would build up.
    Their gold record is set directly, so all of their votes are on in-queue items.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from contributors.models import Contributor, TrustLevel
    from labels_app.models import Answer
    from trust.served import tasks_serve
    from validations.models import Vote
    from validations.services import SERVED_KIND, _next_in_queue, vote_cast

    user, _ = get_user_model().objects.get_or_create(username=MEASURED_USERNAME)
    voter = Contributor.objects.filter(user=user).first()
    if voter is None:
        voter = Contributor.objects.create(
            user=user,
            trust_level=TrustLevel.CONTRIBUTOR,
            votes_counted=True,
            training_passed_at=timezone.now() - timedelta(days=60),
            gold_answered=25,
            gold_correct=24,
        )
    rng = random.Random(SEED)
    have = Vote.objects.filter(contributor=voter).count()
    if have < MEASURED_PRIOR_VOTES:
        started = time.perf_counter()
        print(f"  measured voter: casting {MEASURED_PRIOR_VOTES - have} votes…", end="", flush=True)
        for _ in range(MEASURED_PRIOR_VOTES - have):
            task = _next_in_queue(contributor=voter, label=None, exclude=(), rng=rng)
            if task is None:
                raise SystemExit("The queue ran dry before the measured voter had 1,000 votes.")
            tasks_serve(contributor=voter, audience=(), kind=SERVED_KIND, ids=[task.pk])
            # Gold is answered right (a careful voter), so the voter keeps their trust level.
            vote_cast(
                contributor=voter,
                image_label_id=task.pk,
                answer=task.gold_answer or rng.choice([Answer.YES, Answer.NO]),
            )
        print(f" {time.perf_counter() - started:.1f} s", flush=True)
    voter.refresh_from_db()
    assert Vote.objects.filter(contributor=voter).count() == MEASURED_PRIOR_VOTES
    assert voter.votes_counted and voter.trust_level in (1, 2) and voter.training_passed_at
    return voter


def token_for(contributor: Any) -> str:
    """A fresh API token (keys cannot be read back) for a user attached to the contributor."""
    from django.contrib.auth import get_user_model

    from contributors.models import ApiToken
    from contributors.services import api_token_create

    if contributor.user_id is None:
        user = get_user_model().objects.create_user(username=f"bench-voter-{contributor.pk}")
        contributor.user = user
        contributor.save(update_fields=["user"])
    ApiToken.objects.filter(user_id=contributor.user_id, name="bench").delete()
    _, key = api_token_create(user=contributor.user, name="bench")
    return key


def bench_voters(count: int) -> list[tuple[int, str]]:
    """The same passed, counted seeded voters every run, each with a fresh API token.

    They keep the votes of earlier runs (their next tasks skip those); a run adds a few
    hundred votes to a pool of millions, so reruns stay comparable.
    """
    from contributors.models import Contributor

    chosen = list(
        Contributor.objects.filter(
            votes_counted=True,
            training_passed_at__isnull=False,
            trust_level__in=[1, 2],
            votes_cast__gt=0,
        )
        .exclude(user__username=MEASURED_USERNAME)
        .order_by("pk")[:count]
    )
    if len(chosen) < count:
        raise SystemExit(f"Only {len(chosen)} seeded voters qualify; ask for fewer.")
    return [(voter.pk, token_for(voter)) for voter in chosen]


# --- Measurements -----------------------------------------------------------------------------


class SqlTimer:
    """Per-statement timing through Django's execute wrapper, grouped by statement kind."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, tuple[str, Any]] = {}

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            kind = statement_kind(statement)
            self.totals[kind].append((time.perf_counter() - started) * 1000)
            self.statements.setdefault(kind, (statement, params))


def statement_kind(statement: str) -> str:
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    match = re.search(r'(?:FROM|INTO|UPDATE) "?([a-z_]+)"?', text)
    kind = f"{verb} {match.group(1) if match else ''}".strip()
    if match and match.group(1) == "labels_app_imagelabel" and verb == "SELECT":
        if 'ORDER BY "labels_app_imagelabel"."random_key"' in text:
            kind += " (gold)"
        elif text.startswith('SELECT "labels_app_imagelabel"."sort_key" FROM'):
            kind += " (lowest sort_key)"
        elif '"sort_key" <' in text:
            kind += " (queue, in rank window)"
        elif 'ORDER BY "labels_app_imagelabel"."sort_key"' in text:
            kind += " (queue, whole-queue fallback)"
    return kind


def sql_breakdown(timer: SqlTimer, calls: int) -> list[str]:
    lines = []
    total = sum(sum(v) for v in timer.totals.values())
    count = sum(len(v) for v in timer.totals.values())
    lines.append(f"    SQL per call: {count / calls:.2f} statements, {total / calls:.2f} ms")
    for kind, values in sorted(timer.totals.items(), key=lambda kv: -sum(kv[1])):
        lines.append(
            f"      {kind:<52} {len(values) / calls:5.2f}/call  "
            f"median {statistics.median(values):6.2f} ms  max {max(values):6.1f} ms"
        )
    return lines


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def service_measure(voter: Any, calls: int, warmup: int) -> dict[str, Any]:
    """Latency and CPU per call (this process, and its PostgreSQL backend) of the service.

    CPU time barely depends on how busy the machine is, unlike latency, so it is the figure
    to compare between the two database sizes on a shared machine.
    """
    from django.db import connection

    from validations.services import next_validation_task

    outcomes: Counter[str] = Counter()
    for _ in range(warmup):
        next_validation_task(contributor=voter)
    backend = backend_pid()
    own_before, backend_before = time.process_time(), process_cpu(backend)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        task = next_validation_task(contributor=voter)
        samples.append((time.perf_counter() - started) * 1000)
        outcomes["none" if task is None else "gold" if task.is_gold else "queue"] += 1
    warm_cpu = {
        "Django": (time.process_time() - own_before) / calls * 1000,
        "PostgreSQL": (process_cpu(backend) - backend_before) / calls * 1000,
    }
    timer = SqlTimer()
    breakdown_calls = min(calls, 100)
    with connection.execute_wrapper(timer):
        for _ in range(breakdown_calls):
            next_validation_task(contributor=voter)
    # Without the connection pool (DATABASE_POOL=false, CONN_MAX_AGE=0 under ASGI) every request
    # opens a connection to a new backend, whose catalog caches start empty; this is what the
    # service costs there.
    connect, fresh = [], []
    fresh_calls = min(calls, 100)
    before = cpu_snapshot([])
    for _ in range(fresh_calls):
        connection.close()
        started = time.perf_counter()
        connection.ensure_connection()
        connected = time.perf_counter()
        next_validation_task(contributor=voter)
        connect.append((connected - started) * 1000)
        fresh.append((time.perf_counter() - connected) * 1000)
    connection.close()
    after = cpu_snapshot([])
    fresh_cpu = {
        "Django": (after.own - before.own) / fresh_calls * 1000,
        "PostgreSQL": (after.postgres - before.postgres) / fresh_calls * 1000,
    }
    return {
        "latency": percentiles(samples),
        "cpu": warm_cpu,
        "connect": percentiles(connect),
        "fresh": percentiles(fresh),
        "fresh_cpu": fresh_cpu,
        "outcomes": dict(outcomes),
        "breakdown": sql_breakdown(timer, breakdown_calls),
        "statements": timer.statements,
    }


def fmt_cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items())


def in_process_sender(
    method: str, path: str, token: str, body: Callable[[], dict] | None
) -> Callable[[], Any]:
    """One request through the Django test client per call, with the bench's API token. The
    success path is what is measured: a refusal is a fault of this bench and stops it."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"authorization": f"Token {token}"}

    def send():
        if method == "GET":
            response = client.get(path, headers=headers)
        else:
            response = client.post(
                path, json.dumps(body()), content_type="application/json", headers=headers
            )
        assert response.status_code < 400, response.content[:300]
        return response

    return send


def request_breakdown(
    method: str, path: str, token: str, body: Callable[[], dict] | None, n: int
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """The request in-process (Django test client, warm connection): time, CPU, SQL."""
    from django.db import connection
    from django.test import Client

    send = in_process_sender(method, path, token, body)
    timer = SqlTimer()
    samples = []
    Client(HTTP_HOST="127.0.0.1").get("/api/nothing/")  # connects: the backend below is used
    backend = backend_pid()
    own_before, backend_before = time.process_time(), process_cpu(backend)
    with connection.execute_wrapper(timer):
        for _ in range(n):
            started = time.perf_counter()
            send()
            samples.append((time.perf_counter() - started) * 1000)
    cpu = {
        "Django": (time.process_time() - own_before) / n * 1000,
        "PostgreSQL": (process_cpu(backend) - backend_before) / n * 1000,
    }
    return percentiles(samples), cpu, sql_breakdown(timer, n)


def cpu_profile(
    method: str, path: str, token: str, body: Callable[[], dict] | None, n: int
) -> list[str]:
    """Where the request's CPU goes in-process: cProfile on CPU time, own time summed by the
    package that spent it (the profiler slows everything, so shares, not milliseconds)."""
    import cProfile
    import pstats

    send = in_process_sender(method, path, token, body)
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(n):
        send()
    profile.disable()
    spent: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, _) in pstats.Stats(profile).stats.items():
        spent[code_owner(filename)] += own
    total = sum(spent.values()) or 1.0
    top = spent.most_common(9)
    rest = total - sum(value for _, value in top)
    return [f"      {name:<44} {value / total:5.1%}" for name, value in top] + [
        f"      {'everything else':<44} {rest / total:5.1%}"
    ]


PACKAGE_ROLES = {
    "django/db/models": "Django ORM (building and compiling queries, rows to objects)",
    "django/db/backends": "Django database layer",
    "psycopg": "psycopg (sending SQL, reading rows)",
    "rest_framework": "DRF (request, serializers, rendering)",
    "redis": "redis client (rate limits, handed-out tasks)",
    "django/core/cache": "Django cache layer",
    "django/urls": "URL resolving and reversing",
    "django/utils": "Django utilities (lazy objects, dates, encoding)",
    "django/http": "Django request and response objects",
    "django/middleware": "Django middleware",
    "django/contrib": "Django contrib (sessions, auth, messages)",
}


def code_owner(filename: str) -> str:
    """What a profiled function belongs to: a site package, an app of ours, Python itself."""
    if "site-packages/" in filename:
        parts = filename.split("site-packages/", 1)[1].split("/")
        for depth in (3, 2, 1):
            key = "/".join(parts[:depth])
            if key in PACKAGE_ROLES:
                return PACKAGE_ROLES[key]
        return f"{parts[0]} (other)"
    if filename.startswith(str(REPO_ROOT)):
        return f"ImageMonkey: {Path(filename).relative_to(REPO_ROOT).parts[0]}"
    if filename.startswith("~") or filename.startswith("<"):
        return "Python built-ins (getattr, isinstance, ...)"
    return "Python standard library"


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Any


@contextmanager
def app_servers(workers: int, env: dict[str, str], log_dir: Path) -> Iterator[list[Server]]:
    """The server `manage.py serve` starts (its own command line), with `workers` processes
    sharing one port."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))  # the parent process runs from bench/
    from imagemonkey_site.management.commands.serve import server_command

    port = free_port()
    log = (log_dir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        server_command(host="127.0.0.1", port=port, workers=workers),
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, port, log)
    try:
        wait_ready(server, log_dir)
        # Every worker process up and serving before anything is timed.
        deadline = time.monotonic() + 60
        while len(server_family(process.pid)) < (workers + 1 if workers > 1 else 1):
            if time.monotonic() > deadline:
                raise SystemExit(f"Only some of the {workers} server processes came up.")
            time.sleep(0.2)
        yield [server]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        errors = (log_dir / f"server-{port}.log").read_text(errors="replace")
        tracebacks = errors.count("Traceback (most recent call last)")
        if tracebacks:
            print(f"    server log: {tracebacks} traceback(s); the last one:")
            print("      " + errors[errors.rindex("Traceback") :][-1500:].replace("\n", "\n      "))


def server_family(pid: int) -> set[int]:
    """The server process and its worker processes (uvicorn's supervisor forks them)."""
    procs = _proc_stats()
    family = {pid}
    grew = True
    while grew:
        more = {child for child, (_, parent, _, _) in procs.items() if parent in family}
        grew = not more <= family
        family |= more
    return {member for member in family if member in procs}


def wait_ready(server: Server, log_dir: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", NEXT_PATH)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    log = (log_dir / f"server-{server.port}.log").read_text(errors="replace")[-3000:]
    raise SystemExit(f"The server on port {server.port} did not come up:\n{log}")


def http_measure(port: int, server_pid: int, token: str, calls: int, warmup: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}"}
    statuses: Counter[int] = Counter()
    samples = []
    try:
        for index in range(warmup + calls):
            if index == warmup:
                before = cpu_snapshot([server_pid])
            started = time.perf_counter()
            conn.request("GET", NEXT_PATH, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if index >= warmup:
                samples.append(elapsed)
                statuses[response.status] += 1
        after = cpu_snapshot([server_pid])
    finally:
        conn.close()
    per_request = {
        "server": (after.processes[server_pid] - before.processes[server_pid]) / calls * 1000,
        "PostgreSQL": (after.postgres - before.postgres) / calls * 1000,
        "client": (after.own - before.own) / calls * 1000,
        "machine": (after.machine_busy - before.machine_busy) / calls * 1000,
    }
    return {"latency": percentiles(samples), "statuses": dict(statuses), "cpu": per_request}


@dataclass
class LoopStats:
    votes: int = 0
    post_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


def voter_loop(
    port: int,
    token: str,
    seed: int,
    warm_until: float,
    barrier: threading.Barrier,
    window: dict[str, float],
    stats: LoopStats,
    grid_labels: list[str] | None = None,
) -> None:
    """GET the next task, POST a random yes/no; count what completes inside the window.

    With `grid_labels`, each round is the grid flow instead: GET up to BATCH_SIZE questions of
    a random one of those labels, then POST all answers in one batch."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def questions_path() -> tuple[str, str]:
        if grid_labels:
            label = quote(rng.choice(grid_labels))
            return f"{GRID_PATH}?label={label}&size={BATCH_SIZE}", "GET grid"
        return NEXT_PATH, "GET"

    def task_ids(body: bytes) -> list[int]:
        data = json.loads(body)
        if grid_labels:
            return [task["image_label"] for task in data["tasks"]]
        return [data["image_label"]]

    def answers_request(ids: list[int]) -> tuple[str, dict[str, Any], str]:
        answers = [{"image_label": pk, "answer": rng.choice(["yes", "no"])} for pk in ids]
        if grid_labels:
            return BATCH_PATH, {"votes": answers}, "POST batch"
        return VOTE_PATH, answers[0], "POST"

    def one_round(record: bool) -> None:
        started = time.perf_counter()
        path, asked = questions_path()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        got = time.perf_counter()
        if record:
            stats.get_ms.append((got - started) * 1000)
            stats.statuses[f"{asked} {response.status}"] += 1
        ids = task_ids(body) if response.status == 200 else []
        if not ids:
            time.sleep(0.05)
            return
        path, payload, answered = answers_request(ids)
        conn.request("POST", path, body=json.dumps(payload), headers=headers)
        response = conn.getresponse()
        response.read()
        done = time.perf_counter()
        if record and done <= window["end"]:
            stats.post_ms.append((done - got) * 1000)
            stats.statuses[f"{answered} {response.status}"] += 1
            if response.status == 201:
                stats.votes += len(ids)

    try:
        while time.perf_counter() < warm_until:
            one_round(record=False)
        barrier.wait()
        while time.perf_counter() < window["end"]:
            one_round(record=True)
    except Exception as error:  # a broken connection ends this client, the rest go on
        stats.statuses[f"client error {type(error).__name__}"] += 1
        barrier.abort()
    finally:
        conn.close()


def throughput_measure(
    servers: list[Server],
    voters: list[tuple[int, str]],
    threads: int,
    duration: float,
    warmup: float,
    grid_labels: list[str] | None = None,
) -> dict[str, Any]:
    stats = [LoopStats() for _ in range(threads)]
    window: dict[str, float] = {"start": 0.0, "end": math.inf}
    before: list[CpuSnapshot] = []
    server_pids = [s.process.pid for s in servers]

    def open_window() -> None:
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + duration
        before.append(cpu_snapshot(server_pids))

    barrier = threading.Barrier(threads, action=open_window)
    warm_until = time.perf_counter() + warmup
    workers = [
        threading.Thread(
            target=voter_loop,
            args=(
                servers[index % len(servers)].port,
                voters[index % len(voters)][1],
                SEED + index,
                warm_until,
                barrier,
                window,
                stats[index],
                grid_labels,
            ),
            daemon=True,
        )
        for index in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=warmup + duration + 120)
    after = cpu_snapshot(server_pids)
    elapsed = min(after.at, window["end"]) - window["start"] if before else 0.0
    start = before[0] if before else after
    seconds = after.at - start.at
    postgres_cpu = after.postgres - start.postgres
    server_cpu = sum(after.processes[pid] - start.processes.get(pid, 0.0) for pid in server_pids)
    machine = after.machine_busy - start.machine_busy
    own = after.own - start.own
    votes = sum(s.votes for s in stats)
    statuses: Counter[str] = Counter()
    for s in stats:
        statuses.update(s.statuses)
    posts = [ms for s in stats for ms in s.post_ms]
    gets = [ms for s in stats for ms in s.get_ms]
    return {
        "mode": "batch" if grid_labels else "single",
        "processes": len(servers),
        "threads": threads,
        "seconds": elapsed,
        "votes": votes,
        "votes_per_s": votes / elapsed if elapsed > 0 else 0.0,
        "post": percentiles(posts) if len(posts) > 1 else None,
        "get": percentiles(gets) if len(gets) > 1 else None,
        "statuses": dict(sorted(statuses.items())),
        "cpu_cores": {
            "machine busy": machine / seconds,
            "server": server_cpu / seconds,
            "PostgreSQL (all databases)": postgres_cpu / seconds,
            "bench client": own / seconds,
            "everything else": (machine - server_cpu - postgres_cpu - own) / seconds,
        }
        if seconds > 0
        else {},
    }


def explain(statements: dict[str, tuple[str, Any]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement kind the service ran."""
    from django.db import connection

    lines = []
    with connection.cursor() as cur:
        for kind, (statement, params) in statements.items():
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            lines.append(f"    -- {kind}")
            lines.extend(f"    {row[0]}" for row in cur.fetchall())
    return lines


# --- Worker: one scale, in its own process ----------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    import logging
    import warnings

    import django

    django.setup()
    # 409s are expected answers here, and static files are not served by this benchmark.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="No directory at")
    app_check()

    scale = SCALES[args.worker]
    url = args.database_url
    started = time.perf_counter()
    print(f"\n=== {scale.name}: {database_name(url)} ===", flush=True)
    seeder = Seeder(url, scale)
    try:
        config = seeder.run()
        counts = {t: seeder.count(t) for t in BIG_TABLES}
        with seeder.conn.cursor() as cur:
            # Earlier runs' votes left dead image-label versions at the head of the queue index.
            # Where autovacuum is off (as on the machine this was written on) they would slow
            # every later run, so each run starts from a vacuumed table.
            cur.execute("VACUUM (ANALYZE) labels_app_imagelabel")
            cur.execute(
                "SELECT count(*) FILTER (WHERE in_queue), count(*) FILTER (WHERE state <> 'open'"
                " AND gold_answer = ''), count(*) FILTER (WHERE gold_answer <> ''),"
                " count(*) FILTER (WHERE in_queue AND sort_key < 1)"
                " FROM labels_app_imagelabel"
            )
            queued, decided, gold, rank0 = cur.fetchone()
    finally:
        seeder.close()
    seeding_print(seeder, config, started)
    print(
        f"  rows: {counts['donations_image']:,} images, "
        f"{counts['labels_app_imagelabel']:,} image-labels "
        f"({queued:,} in queue, {rank0:,} of them without counted votes; {decided:,} decided; "
        f"{gold:,} gold), {counts['validations_vote']:,} votes"
    )

    voter = measured_voter_prepare()
    print(
        f"  measured voter #{voter.pk}: {MEASURED_PRIOR_VOTES:,} prior votes, trust level "
        f"{voter.trust_level}, votes counted, training passed; gold rate "
        f"{gold_rate_of(voter):.0%}"
    )
    result: dict[str, Any] = {"scale": scale.name, "counts": counts}

    service = service_measure(voter, args.calls, args.warmup)
    result["service"] = service["latency"]
    result["service_cpu"] = service["cpu"]
    print(
        f"\n  next_validation_task (service, in-process), {args.calls} calls after {args.warmup}:"
    )
    print(f"    {fmt_latency(service['latency'])}")
    print(f"    CPU ms per call: {fmt_cpu(service['cpu'])}   tasks: {service['outcomes']}")
    print("\n".join(service["breakdown"]))
    print(f"    new DB connection alone:               {fmt_latency(service['connect'])}")
    print(f"    the call right after a new connection: {fmt_latency(service['fresh'])}")
    print(f"      CPU ms per connection + call: {fmt_cpu(service['fresh_cpu'])}")

    token = token_for(voter)
    result["token"] = token
    get_inproc, get_cpu, get_sql = request_breakdown(
        "GET", NEXT_PATH, token, None, min(args.calls, 100)
    )
    print(f"\n  GET {NEXT_PATH} in-process (Django test client, warm connection, no server):")
    print(f"    {fmt_latency(get_inproc)}")
    print(f"    CPU ms per request: {fmt_cpu(get_cpu)}")
    print("\n".join(get_sql))
    print("    where the Django process's CPU goes (profiled, share of its CPU):")
    print("\n".join(cpu_profile("GET", NEXT_PATH, token, None, 200)))
    result["get_inproc_cpu"] = get_cpu

    env = dict(os.environ)
    log_dir = Path(env["DATA_DIR"])
    if args.http:
        with app_servers(1, env, log_dir) as servers:
            measured = http_measure(
                servers[0].port, servers[0].process.pid, token, args.calls, args.warmup
            )
        result["http"] = measured["latency"]
        print(f"\n  GET {NEXT_PATH} over HTTP (1 server process, keep-alive client):")
        print(f"    {fmt_latency(measured['latency'])}   statuses {measured['statuses']}")
        print(f"    CPU ms per request: {fmt_cpu(measured['cpu'])} (machine = all processes)")

    if args.explain:
        print("\n  EXPLAIN ANALYZE of the service's statements (one captured call each):")
        print("\n".join(explain(service["statements"])))

    if args.throughput:
        voters = bench_voters(args.voters + 1)
        probe = voters.pop()
        pick = iter(queue_head_items(200, voter_pk=probe[0]))
        post_inproc, post_cpu, post_sql = request_breakdown(
            "POST", VOTE_PATH, probe[1], lambda: {"image_label": next(pick), "answer": "yes"}, 100
        )
        print(f"\n  POST {VOTE_PATH} in-process (Django test client, warm connection, no server):")
        print(f"    {fmt_latency(post_inproc)}")
        print(f"    CPU ms per request: {fmt_cpu(post_cpu)}")
        print("\n".join(post_sql))
        print("    where the Django process's CPU goes (profiled, share of its CPU):")
        print(
            "\n".join(
                cpu_profile(
                    "POST",
                    VOTE_PATH,
                    probe[1],
                    lambda: {"image_label": next(pick), "answer": "no"},
                    100,
                )
            )
        )
        # Submitting a vote over HTTP with nothing else running: one client, one process.
        with app_servers(1, env, log_dir) as servers:
            alone = throughput_measure(servers, voters[:1], 1, 8.0, 1.0)
        result["post_alone"] = alone["post"]
        print(f"\n  POST {VOTE_PATH} over HTTP, one client (GET next, then POST, keep-alive):")
        print(f"    {fmt_latency(alone['post'])}   responses {alone['statuses']}")
        result["throughput"] = []
        for processes in args.processes:
            with app_servers(processes, env, log_dir) as servers:
                run = throughput_measure(servers, voters, args.threads, args.duration, 3.0)
            run["processes"] = processes
            result["throughput"].append(run)
            throughput_print(run, args)
        # The grid flow: the same voters answer BATCH_SIZE questions of one label per request.
        labels = busiest_labels(20)
        with app_servers(max(args.processes), env, log_dir) as servers:
            run = throughput_measure(
                servers, voters, args.threads, args.duration, 3.0, grid_labels=labels
            )
        run["processes"] = max(args.processes)
        result["throughput"].append(run)
        throughput_print(run, args)
    Path(args.result).write_text(json.dumps(result))


def seeding_print(seeder: Seeder, config: dict[str, Any], started: float) -> None:
    """How long seeding took now, or took once (and how long the check for it took now)."""
    if seeder.seeded_now:
        print(f"  seeding took {config['seconds']:.0f} s (bulk load, indexes, VACUUM ANALYZE)")
    else:
        print(
            f"  already seeded (that took {config['seconds']:.0f} s); "
            f"checked in {time.perf_counter() - started:.0f} s"
        )


def app_check() -> None:
    """Stop early, and briefly, when the application itself does not load (e.g. mid-edit)."""
    from django.test import Client

    try:
        Client(HTTP_HOST="127.0.0.1").get(NEXT_PATH)
    except Exception as error:
        raise SystemExit(
            f"The application fails before any measurement: {type(error).__name__}: {error}"
        ) from None


def queue_head_items(count: int, *, voter_pk: int) -> list[int]:
    """Open items from a random point of the most-needed rank, where voters are sent, that the
    voter has not answered, handed to them (answers are taken only on handed-out tasks)."""
    from contributors.models import Contributor
    from labels_app.models import ImageLabel
    from trust.served import tasks_serve
    from validations.models import Vote
    from validations.services import SERVED_KIND

    start = random.Random(SEED).random() * 0.5
    items = list(
        ImageLabel.objects.filter(in_queue=True, sort_key__gte=start)
        .exclude(pk__in=Vote.objects.filter(contributor_id=voter_pk).values("image_label_id"))
        .order_by("sort_key")
        .values_list("pk", flat=True)[:count]
    )
    voter = Contributor.objects.get(pk=voter_pk)
    tasks_serve(contributor=voter, audience=(), kind=SERVED_KIND, ids=items)
    return items


def busiest_labels(count: int) -> list[str]:
    """The labels with the most open questions, so a grid page is always full."""
    from django.db.models import Count

    from labels_app.models import ImageLabel

    rows = (
        ImageLabel.objects.filter(in_queue=True)
        .values("label__name")
        .annotate(open=Count("pk"))
        .order_by("-open")[:count]
    )
    return [row["label__name"] for row in rows]


def gold_rate_of(voter: Any) -> float:
    from trust.services import gold_rate

    return gold_rate(voter)


def vote_target(run: dict[str, Any]) -> float:
    return TARGET_GRID_VOTES_PER_S if run["mode"] == "batch" else TARGET_VOTES_PER_S


def throughput_print(run: dict[str, Any], args: argparse.Namespace) -> None:
    flow = (
        f"grid flow: GET {GRID_PATH} ({BATCH_SIZE} questions), POST {BATCH_PATH}"
        if run["mode"] == "batch"
        else f"GET {NEXT_PATH}, POST {VOTE_PATH}"
    )
    print(
        f"\n  Vote throughput, {run['processes']} server process(es), {run['threads']} client "
        f"threads ({args.voters} voters), {run['seconds']:.1f} s window after 3 s warm-up; "
        f"{flow}:"
    )
    target = vote_target(run)
    print(
        f"    {run['votes']:,} votes stored (201) = {run['votes_per_s']:.0f} votes/s   "
        f"target >= {target:.0f}: {verdict(run['votes_per_s'] >= target)}"
    )
    batch = run["mode"] == "batch"
    post_path, get_path = (BATCH_PATH, GRID_PATH) if batch else (VOTE_PATH, NEXT_PATH)
    if run["post"]:
        print(f"    POST {post_path}: {fmt_latency(run['post'])}")
    if run["get"]:
        print(f"    GET  {get_path}: {fmt_latency(run['get'])}")
    print(f"    responses: {run['statuses']}")
    if run["cpu_cores"]:
        shares = ", ".join(f"{k} {v:.2f}" for k, v in run["cpu_cores"].items())
        print(f"    CPU in cores (of {os.cpu_count()}): {shares}")


# --- Orchestrator -----------------------------------------------------------------------------


def machine_info(url: str) -> list[str]:
    conn = pg_connect(with_database(url, "postgres"))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            version = cur.fetchone()[0].split(" on ")[0]
            cur.execute(
                "SELECT name, setting, unit FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'synchronous_commit', 'max_connections', "
                "'autovacuum')"
            )
            knobs = ", ".join(
                f"{name}={setting}{'x' + unit if unit else ''}"
                for name, setting, unit in cur.fetchall()
            )
    finally:
        conn.close()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        f"Machine: {os.cpu_count()} cores ({model}), {int(memory) / 1024 / 1024:.0f} GB RAM, "
        f"load average now {load}",
        f"PostgreSQL: {version}; {knobs}",
        f"Python {platform.python_version()}",
    ]


def worker_env(url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("S3_BUCKET", "MEDIA_ROOT", "SECRET_KEY"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="imagemonkey_site.settings",
        DATABASE_URL=url,
        DATA_DIR=str(data_dir),
        TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend",
        RATELIMIT_ENABLE="true",
        RATE_LIMITS=json.dumps(RAISED_RATE_LIMITS),
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX="imagemonkey-bench",
        CHANNEL_LAYER_PREFIX="imagemonkey-bench",
        ALLOWED_HOSTS="127.0.0.1",
        DEBUG="false",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def run_scale(
    scale: str,
    url: str,
    args: argparse.Namespace,
    data_dir: Path,
    *,
    throughput: bool,
    http: bool,
) -> dict[str, Any]:
    env = worker_env(url, data_dir)
    if database_ensure(url, reseed=args.reseed):
        print(f"\nCreated database {database_name(url)}.", flush=True)
    migrate(env)
    result_file = data_dir / f"result-{scale}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        scale,
        "--database-url",
        url,
        "--result",
        str(result_file),
        "--calls",
        str(args.calls),
        "--warmup",
        str(args.warmup),
        "--threads",
        str(args.threads),
        "--voters",
        str(args.voters),
        "--duration",
        str(args.duration),
        "--processes",
        ",".join(str(p) for p in args.processes),
    ]
    if throughput:
        command.append("--throughput")
    if http:
        command.append("--http")
    if args.explain:
        command.append("--explain")
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)  # noqa: S603
    return json.loads(result_file.read_text())


def paired_http(
    envs: dict[str, dict[str, str]],
    tokens: dict[str, str],
    calls: int,
    warmup: int,
    log_dir: Path,
) -> dict[str, dict[str, Any]]:
    """GET next from one server per database, alternating, so both see the same machine load."""
    with (
        app_servers(1, envs["small"], log_dir) as small,
        app_servers(1, envs["full"], log_dir) as full,
    ):
        servers = {"small": small[0], "full": full[0]}
        conns = {
            name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            for name, server in servers.items()
        }
        samples: dict[str, list[float]] = {name: [] for name in servers}
        statuses: dict[str, Counter[int]] = {name: Counter() for name in servers}
        pids = [server.process.pid for server in servers.values()]
        before = cpu_snapshot(pids)
        try:
            for index in range(warmup + calls):
                if index == warmup:
                    before = cpu_snapshot(pids)
                order = ["small", "full"] if index % 2 == 0 else ["full", "small"]
                for name in order:
                    started = time.perf_counter()
                    conns[name].request(
                        "GET", NEXT_PATH, headers={"Authorization": f"Token {tokens[name]}"}
                    )
                    response = conns[name].getresponse()
                    response.read()
                    if index >= warmup:
                        samples[name].append((time.perf_counter() - started) * 1000)
                        statuses[name][response.status] += 1
            after = cpu_snapshot(pids)
        finally:
            for conn in conns.values():
                conn.close()
    postgres = (after.postgres - before.postgres) / (2 * calls) * 1000
    return {
        name: {
            "latency": percentiles(samples[name]),
            "statuses": dict(statuses[name]),
            "cpu": {
                "server": (
                    after.processes[server.process.pid] - before.processes[server.process.pid]
                )
                / calls
                * 1000,
                "PostgreSQL (both, per request)": postgres,
                "machine (per request)": (after.machine_busy - before.machine_busy)
                / (2 * calls)
                * 1000,
            },
        }
        for name, server in servers.items()
    }


def summary(results: dict[str, dict[str, Any]]) -> None:
    print("\n=== Summary ===")
    for name, result in results.items():
        rows = result["counts"]["labels_app_imagelabel"]
        cpu = result["service_cpu"]
        print(
            f"  {name:<5} ({rows:>9,} image-labels)  service p50 {result['service']['p50']:5.1f}"
            f" p95 {result['service']['p95']:5.1f} ms (CPU/call {sum(cpu.values()):4.1f} ms)"
            f"   HTTP p50 {result['http']['p50']:5.1f} p95 {result['http']['p95']:5.1f} ms"
        )
    if "full" in results:
        http_p95 = results["full"]["http"]["p95"]
        print(
            f"  HTTP p95 at 1M: {http_p95:.1f} ms, target <= {TARGET_HTTP_P95_MS:.0f} ms: "
            f"{verdict(http_p95 <= TARGET_HTTP_P95_MS)}"
        )
    if "full" in results and "small" in results:
        full, small = results["full"], results["small"]
        ratios = [
            ("HTTP p95 (paired)", full["http"]["p95"] / small["http"]["p95"]),
            ("service p95", full["service"]["p95"] / small["service"]["p95"]),
            (
                "service CPU/call",
                sum(full["service_cpu"].values()) / sum(small["service_cpu"].values()),
            ),
        ]
        for label, ratio in ratios:
            print(
                f"  {label:<18} 1M / 10k = {ratio:.2f}{TIMES}, target <= "
                f"{TARGET_FLAT_RATIO:.1f}{TIMES}: {verdict(ratio <= TARGET_FLAT_RATIO)}"
            )
    for name, result in results.items():
        for run in result.get("throughput", []):
            post = run["post"] or {"p50": 0.0, "p99": 0.0}
            target = vote_target(run)
            print(
                f"  votes ({name}, {run['mode']}, {run['processes']} server process(es)): "
                f"{run['votes_per_s']:.0f} votes/s, target >= {target:.0f}: "
                f"{verdict(run['votes_per_s'] >= target)}; POST p50 {post['p50']:.1f} ms "
                f"p99 {post['p99']:.0f} ms"
            )
        if result.get("post_alone"):
            p50 = result["post_alone"]["p50"]
            print(
                f"  submit a vote ({name}, POST {VOTE_PATH} over HTTP, one client) p50 "
                f"{p50:.1f} ms, target <= {TARGET_POST_P50_MS:.0f} ms: "
                f"{verdict(p50 <= TARGET_POST_P50_MS)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        choices=["full", "small", "small-only"],
        default="full",
        help="full: 1M and 10k, ratio, vote throughput at 1M (default); small: 10k with "
        "throughput; small-only: 10k service and HTTP only (smoke run)",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--small-database-url", help="default: the --database-url name with '_small' appended"
    )
    parser.add_argument("--reseed", action="store_true", help="drop and reseed the databases")
    parser.add_argument("--calls", type=int, default=500, help="timed calls (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first (default 50)")
    parser.add_argument("--threads", type=int, default=16, help="vote client threads")
    parser.add_argument("--voters", type=int, default=64, help="distinct voters for the vote run")
    parser.add_argument("--duration", type=float, default=20.0, help="vote window in seconds")
    parser.add_argument(
        "--processes",
        type=lambda text: [int(p) for p in text.split(",")],
        default=[1, 2],
        help="server worker process counts to try for votes (default 1,2)",
    )
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE plans")
    parser.add_argument("--worker", choices=sorted(SCALES), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--throughput", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--http", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calls < 2 or args.warmup < 0 or args.threads < 1 or args.duration <= 0:
        parser.error("--calls >= 2, --warmup >= 0, --threads >= 1 and --duration > 0 please")
    args.voters = max(args.voters, args.threads)
    check_local(args.database_url)
    if args.worker:
        worker(args)
        return

    small_url = args.small_database_url or with_database(
        args.database_url, database_name(args.database_url) + "_small"
    )
    check_local(small_url)
    print("Next validation task and vote submission benchmark")
    print("\n".join(machine_info(args.database_url)))
    print(
        f"Parameters: scale={args.scale}, {args.calls} timed calls after {args.warmup} warm-up; "
        f"votes: {args.threads} threads, {args.voters} voters, {args.duration:.0f} s, "
        f"server processes {args.processes}"
    )
    print(
        "Rate limits count (RATELIMIT_ENABLE on), raised for the one address all requests "
        "come from. "
        f"Tasks: dummy backend. Cache: {REDIS_URL}. "
        f"DATABASE_POOL: {os.environ.get('DATABASE_POOL', 'app default (on)')}."
    )
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        paired = args.scale == "full"
        results["small"] = run_scale(
            "small", small_url, args, data_dir, throughput=args.scale == "small", http=not paired
        )
        if paired:
            results["full"] = run_scale(
                "full", args.database_url, args, data_dir, throughput=True, http=False
            )
            measured = paired_http(
                {
                    "small": worker_env(small_url, data_dir),
                    "full": worker_env(args.database_url, data_dir),
                },
                {name: result["token"] for name, result in results.items()},
                args.calls,
                args.warmup,
                data_dir,
            )
            print(
                f"\n=== GET {NEXT_PATH} over HTTP: one server process per database, "
                "requests alternating between them (same machine load for both) ==="
            )
            for name, figures in measured.items():
                results[name]["http"] = figures["latency"]
                print(f"  {name:<5} {fmt_latency(figures['latency'])}  {figures['statuses']}")
                print(f"        CPU ms: {fmt_cpu(figures['cpu'])}")
        summary(results)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
