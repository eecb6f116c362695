"""Benchmark: dataset exports (streamed JSONL and COCO, archives with files, the live count).

It seeds a dedicated PostgreSQL database with 1M unlocked images, 3M image-labels (three
distinct labels each, the real catalog's labels as in ``bench/next_task.py``) and about 300k
annotations, and a second one with 100k images the same way (a database of its own rather
than a 100k subset by query, so "the whole dataset" is exported at both sizes through the same
query-free path, and ``--scale small`` needs no 1M database). Exports count only decided facts,
so the image-labels are decided at a deterministic share: about 55 % confirmed, 20 % rejected,
25 % open. On three images in ten the first object label is confirmed and outlined: 1-6 shapes
(rectangles, ellipses, polygons; 1.6 on average) cleaned by the app's ``shapes_clean``, with
``coverage`` from ``shapes_coverage``, a revision row, and refinement values (the catalog's
``applies_to``) in ``annotations_shaperefinement``. Votes are not seeded: exports read the
image-labels' counters, never the vote rows. Then, per database:

* streamed exports over HTTP - ``GET /api/exports/?format=jsonl`` and ``format=coco`` of the
  whole dataset against Daphne, the server of ``manage.py serve`` (a fresh process for each
  export, one warm-up export of nothing first on the same keep-alive connection; the body is
  read in chunks as it arrives): image-labels per second (JSONL; counted in the body), COCO
  annotations per second (entries, i.e. shapes; counted in the body; annotation rows beside),
  time to first body byte, total time, bytes, and the serving process's peak RSS (``VmHWM``,
  and ``VmRSS`` sampled every 20 ms) with where the CPU went;
* where the time goes - the Python writers' functions in-process on the first 20k images
  (SQL per page by statement, rows to records, encoding by the format's writer, and the top
  of a cProfile, printed when a streamed export misses its target). On PostgreSQL the
  streamed JSONL and COCO over HTTP are written by the database itself
  (``datasets/database_writers.py``); the Python writers serve ordered exports, the other
  formats, archives and SQLite;
* the live count - ``export_select`` (``compile_query`` included) and the images count for a
  10-term query, and the whole ``export_preview`` beside it; EXPLAIN ANALYZE when it misses;
* archive (at the larger database of the run) - ``export_archive_build`` of a job started
  with ``export_job_start`` for ``image.donated >= <date>`` (~10k images), format ``coco``, in
  a worker process of its own with media on local disk; the selected images get real files
  (copies of one generated 1280x960 JPEG under ``var/bench-media/<database>/``). Its MB/s of
  image bytes beside ``cp -r`` of the same files (the better of two runs), and its peak RSS.

Targets (from the issue): JSONL >= 100,000 image-labels/s; COCO >= 50,000 annotations/s;
time to first byte <= 1 s; peak RSS <= 300 MB and about the same at 100k and 1M (flat: within
10 %); the archive at >= 80 % of the speed of ``cp``; compilation and count of a 10-term query
<= 50 ms at 1M. Rate limiting is switched off (RATELIMIT_ENABLE=false). It is a benchmark, not
a test: the exit code is 0 whatever the verdicts.

Seeding is resumable and idempotent, with the machinery of ``bench/next_task.py``: each stage
is recorded in the ``bench_seed_state`` table and skipped once done; the big tables are loaded
without their secondary indexes and foreign keys, recreated afterwards and checked identical;
``--reseed`` drops and recreates the databases (``bench_export`` and ``bench_export_small``).

Run from the repository root::

    .venv/bin/python bench/export.py                 # 100k and 1M, archive at 1M
    .venv/bin/python bench/export.py --scale small   # 100k only, archive at 100k

The first full run seeds for under three minutes (1M: 140 s, 100k: 16 s); a seeded full run
takes about ten minutes on 2 cores (17 with the seeding, on a machine other jobs were using).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import math
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate import DONOR_ROWS
from next_task import (
    IMAGE_ROWS,
    LABELS_PER_IMAGE,
    REPO_ROOT,
    SCHEMA_SIGNATURE,
    TIMES,
    BulkRows,
    Server,
    app_check,
    check_local,
    cpu_snapshot,
    daphne_servers,
    database_ensure,
    database_name,
    decisive_evidence,
    insert_statement,
    machine_info,
    migrate,
    pg_array,
    seeding_print,
    verdict,
    with_database,
    worker_env,
)
from next_task import Seeder as BulkSeeder

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_export"
SEED = 20240613
TARGET_LABELS_PER_S = 100_000
TARGET_ANNOTATIONS_PER_S = 50_000
TARGET_TTFB_S = 1.0
TARGET_RSS_MB = 300.0
TARGET_RSS_FLAT = 1.10
TARGET_ARCHIVE_SHARE = 0.80
TARGET_COUNT_MS = 50.0
EXPORT_PATH = "/api/exports/"
BASE_URL = "http://127.0.0.1"
# Ten terms: four labels (with their descendants), two negated ones, four attributes.
TEN_TERM_QUERY = (
    "(dog | cat | bird | horse) & ~car & ~truck & image.width > 100px & image.height > 100px"
    " & annotation.coverage > 1% & image.donated > 2000-01-01"
)
EMPTY_QUERY = "image.width < 1px"
ARCHIVE_IMAGES = 10_000
ARCHIVE_JPEG_SIZE = (1280, 960)
EXPORTER_USERNAME = "bench-exporter"
CONFIRMED_SHARE = 0.50  # of the image-labels that are not the outlined one
REJECTED_SHARE = 0.22
TABLES = [
    "donations_image",
    "labels_app_imagelabel",
    "annotations_annotation",
    "annotations_annotationrevision",
    "annotations_shaperefinement",
]
MB = 1024 * 1024


@dataclass(frozen=True)
class Scale:
    name: str
    images: int
    donors: int
    annotators: int
    chunk: int = 100_000  # images per committed chunk

    @property
    def image_labels(self) -> int:
        return LABELS_PER_IMAGE * self.images


SCALES = {
    "full": Scale("full", 1_000_000, donors=1000, annotators=2000),
    "small": Scale("small", 100_000, donors=100, annotators=200),
}


# --- Small helpers ----------------------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def proc_status_kb(pid: int, field: str) -> int:
    """A size from /proc/<pid>/status (VmRSS, VmHWM), in kB; 0 once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def mb(kb: int) -> float:
    return kb / 1024


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


# --- Seeding SQL (on top of next_task's pg_temp functions) ------------------------------------

SEED_FUNCTIONS = r"""
-- The label k (0-2) of image i that is outlined: the first object label of three images in
-- ten (i % 10 < 3); -1 for none.
CREATE FUNCTION pg_temp.bench_outlined(i bigint, labels int, is_object bool[]) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN i % 10 >= 3 THEN -1
            WHEN is_object[pg_temp.bench_label(i, 0, labels)] THEN 0
            WHEN is_object[pg_temp.bench_label(i, 1, labels)] THEN 1
            WHEN is_object[pg_temp.bench_label(i, 2, labels)] THEN 2
            ELSE -1 END;
"""

# Image-label n = 3 (i - 1) + k + 1 is label k of image i (next_task's numbering and labels),
# decided at the shares above; the outlined one is always confirmed. Counters and evidence fit
# the state by the app's rules (probability from the evidence, decided beyond the decisive
# evidence), without vote rows behind them.
IMAGE_LABEL_ROWS = BulkRows(
    model="labels_app.ImageLabel",
    columns={
        "id": "n",
        "created_at": "created + k * interval '3 minutes'",
        "yes_count": "yes",
        "no_count": "no",
        "unsure_count": "unsure",
        "counted_votes": "yes + no",
        "evidence": "evidence",
        "established_evidence": "evidence",
        "probability": "1.0 / (1.0 + exp(-evidence))",
        "state": "state",
        "in_queue": "state = 'open'",
        # The app's rule: confirmed object labels wait to be outlined, unless they are.
        "needs_annotation": "state = 'confirmed' AND k <> outlined "
        "AND (%(label_is_object)s::bool[])[label_pos]",
        "random_key": "random_key",
        "sort_key": "CASE WHEN state = 'open' "
        "THEN least(yes + no, 10) + abs(evidence) + random_key ELSE 0 END",
        "added_by_id": "(%(donor_ids)s::bigint[])[pg_temp.bench_donor(n, %(donors)s)]",
        "image_id": "pg_temp.bench_image_uuid(i)",
        "label_id": "(%(label_ids)s::bigint[])[label_pos]",
    },
    source="""
FROM (
    SELECT i, pg_temp.bench_image_created(i, %(images)s, %(anchor)s) AS created,
           pg_temp.bench_outlined(i, %(labels)s, %(label_is_object)s::bool[]) AS outlined
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
    OFFSET 0
) AS s
CROSS JOIN LATERAL generate_series(0, 2) AS k
CROSS JOIN LATERAL (
    SELECT 3 * (i - 1) + k + 1 AS n, pg_temp.bench_label(i, k, %(labels)s) AS label_pos
) AS item
CROSS JOIN LATERAL (
    SELECT pg_temp.bench_u(n, 5) AS random_key,
           CASE WHEN k = outlined OR pg_temp.bench_u(n, 36) < %(confirmed_share)s
                    THEN 'confirmed'
                WHEN pg_temp.bench_u(n, 36) < %(confirmed_share)s + %(rejected_share)s
                    THEN 'rejected'
                ELSE 'open' END AS state
) AS decided
CROSS JOIN LATERAL (
    SELECT CASE state WHEN 'confirmed' THEN 2 + floor(pg_temp.bench_u(n, 37) * 4)::int
                      WHEN 'rejected' THEN floor(pg_temp.bench_u(n, 37) * 1.5)::int
                      ELSE floor(pg_temp.bench_u(n, 37) * 2)::int END AS yes,
           CASE state WHEN 'rejected' THEN 2 + floor(pg_temp.bench_u(n, 38) * 4)::int
                      WHEN 'confirmed' THEN floor(pg_temp.bench_u(n, 38) * 1.5)::int
                      ELSE floor(pg_temp.bench_u(n, 38) * 2)::int END AS no,
           floor(pg_temp.bench_u(n, 39) * 1.25)::int AS unsure
) AS tally
CROSS JOIN LATERAL (
    SELECT CASE state WHEN 'confirmed' THEN %(decisive)s + 3 * pg_temp.bench_u(n, 40)
                      WHEN 'rejected' THEN -%(decisive)s - 3 * pg_temp.bench_u(n, 40)
                      ELSE (yes - no) * %(decisive)s / 4 END AS evidence
) AS consensus
""",
)

# The outlined image-labels of images lo..hi, as the image-label rows above made them.
OUTLINED_ITEMS = """
SELECT il.id, il.label_id, il.created_at
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
CROSS JOIN LATERAL (
    SELECT pg_temp.bench_outlined(i, %(labels)s, %(label_is_object)s::bool[]) AS k
) AS o
JOIN labels_app_imagelabel AS il ON il.id = 3 * (i - 1) + o.k + 1
WHERE o.k >= 0
ORDER BY il.id
"""

SEEDED_COUNTS = """
SELECT (SELECT count(*) FROM donations_image),
       count(*),
       count(*) FILTER (WHERE state = 'confirmed'),
       count(*) FILTER (WHERE state = 'rejected'),
       count(*) FILTER (WHERE state = 'open'),
       (SELECT count(*) FROM annotations_annotation),
       (SELECT coalesce(sum(jsonb_array_length(shapes)), 0) FROM annotations_annotation),
       (SELECT count(*) FROM annotations_shaperefinement),
       (SELECT count(*) FROM annotations_annotation AS a
        JOIN labels_app_imagelabel AS il ON il.id = a.image_label_id
        WHERE il.state <> 'confirmed' OR il.needs_annotation)
FROM labels_app_imagelabel
"""


# --- Annotations, generated in Python with the app's own shape rules --------------------------


def shape_random(rng: random.Random, refinements: list[tuple[str, list[str]]]) -> dict:
    """One shape as the editor would send it: normalised coordinates inside the image."""
    draw = rng.random()
    if draw < 0.5:
        width, height = round(rng.uniform(0.05, 0.6), 6), round(rng.uniform(0.05, 0.6), 6)
        shape = {
            "type": "rect",
            "x": round(rng.uniform(0, 1 - width), 6),
            "y": round(rng.uniform(0, 1 - height), 6),
            "width": width,
            "height": height,
        }
    elif draw < 0.65:
        rx, ry = round(rng.uniform(0.03, 0.3), 6), round(rng.uniform(0.03, 0.3), 6)
        shape = {
            "type": "ellipse",
            "cx": round(rng.uniform(rx, 1 - rx), 6),
            "cy": round(rng.uniform(ry, 1 - ry), 6),
            "rx": rx,
            "ry": ry,
        }
    else:
        # A star-shaped polygon around a centre: angles increase, so it never crosses itself.
        radius = rng.uniform(0.05, 0.3)
        cx, cy = rng.uniform(radius, 1 - radius), rng.uniform(radius, 1 - radius)
        count = rng.randint(5, 16)
        step = 2 * math.pi / count
        points = []
        for j in range(count):
            angle = step * (j + rng.uniform(-0.4, 0.4))
            reach = radius * rng.uniform(0.55, 1.0)
            points.append(
                [
                    round(min(1.0, max(0.0, cx + reach * math.cos(angle))), 6),
                    round(min(1.0, max(0.0, cy + reach * math.sin(angle))), 6),
                ]
            )
        shape = {"type": "polygon", "points": points}
    chosen = {name: rng.choice(values) for name, values in refinements if rng.random() < 0.35}
    if chosen:
        shape["refinements"] = chosen
    return shape


def shapes_random(rng: random.Random, refinements: list[tuple[str, list[str]]]) -> list[dict]:
    draw = rng.random()
    count = 1 if draw < 0.6 else 2 if draw < 0.85 else 3 if draw < 0.95 else rng.randint(4, 6)
    return [shape_random(rng, refinements) for _ in range(count)]


def copy_plan(model_label: str, given: list[str]) -> tuple[str, list[str], tuple]:
    """(table, columns, values for the columns not given) for COPY into a model's table: like
    next_task's insert_statement, a column the app gained gets its model default."""
    from django.apps import apps
    from django.db import connection

    model = apps.get_model(model_label)
    columns, defaults = list(given), []
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column in given or (model_field.primary_key and model_field.db_returning):
            continue
        columns.append(column)
        defaults.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    return model._meta.db_table, columns, tuple(defaults)


def copy_rows(cur, plan: tuple[str, list[str], tuple], rows: Iterator[tuple]) -> None:
    table, columns, defaults = plan
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement) as copy:
        for row in rows:
            copy.write_row((*row, *defaults))


ANNOTATION_COLUMNS = [
    "id",
    "image_label_id",
    "revision",
    "shapes",
    "coverage",
    "author_id",
    "created_at",
    "updated_at",
    "good_count",
    "bad_count",
    "unsure_count",
    "counted_votes",
    "evidence",
    "probability",
    "review_state",
    "in_review",
    "random_key",
    "sort_key",
]
REVISION_COLUMNS = ["annotation_id", "number", "shapes", "author_id", "created_at"]
REFINEMENT_COLUMNS = ["annotation_id", "shape_index", "refinement_id", "value"]


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

        contributors = self.scale.donors + self.scale.annotators
        params: dict[str, Any] = {
            "anchor": datetime.fromisoformat(config["anchor"]),
            "images": self.scale.images,
            "image_labels": self.scale.image_labels,
            "labels_per_image": LABELS_PER_IMAGE,
            "donors": self.scale.donors,
            "decisive": decisive_evidence(),
            "confirmed_share": CONFIRMED_SHARE,
            "rejected_share": REJECTED_SHARE,
        }
        rows, contributor_defaults, defaulted = insert_statement(DONOR_ROWS)
        self.stage(
            "contributors",
            lambda: self.execute(rows, {**params, **contributor_defaults, "donors": contributors}),
        )
        labels = self.labels_sync()
        params["label_ids"] = [pk for pk, _ in labels]
        params["label_is_object"] = [is_object for _, is_object in labels]
        params["labels"] = len(labels)
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT array_agg(id ORDER BY id) FROM contributors_contributor "
                "WHERE user_id IS NULL"
            )
            ids = cur.fetchone()[0]
        assert len(ids) == contributors
        params["donor_ids"], authors = ids[: self.scale.donors], ids[self.scale.donors :]
        statements = {}
        for name, bulk in (("images", IMAGE_ROWS), ("image-labels", IMAGE_LABEL_ROWS)):
            statements[name], defaults, left = insert_statement(bulk)
            params.update(defaults)
            defaulted += [column for column in left if column not in defaulted]
        plans = {
            "annotations": copy_plan("annotations.Annotation", ANNOTATION_COLUMNS),
            "revisions": copy_plan("annotations.AnnotationRevision", REVISION_COLUMNS),
            "refinements": copy_plan("annotations.ShapeRefinement", REFINEMENT_COLUMNS),
        }
        defaulted += [
            f"{table}.{column}"
            for table, columns, values in plans.values()
            for column in columns[len(columns) - len(values) :]
        ]
        print(f"  columns left at their model default: {', '.join(defaulted) or 'none'}")
        params = {k: pg_array(v) if isinstance(v, list) else v for k, v in params.items()}

        if self.state("stage:restore") is None:
            self.constraints_drop()
        # All three are chunked by image number, so a chunk's rows follow its images.
        self.stage_chunked("images", statements["images"], self.scale.images, params)
        self.stage_chunked("image-labels", statements["image-labels"], self.scale.images, params)
        outline = self.annotations_writer(params, authors, plans)
        self.stage_chunked_with("annotations", self.scale.images, outline)
        self.stage("restore", self.constraints_restore)
        self.stage("sequences", self.sequences_reset)
        self.stage("vacuum analyze", self.vacuum_analyze)
        config["complete"] = True
        config["seconds"] = round(time.perf_counter() - started, 1)
        with self.conn.cursor() as cur:
            self.state_set(cur, "config", config)
        return config

    def stage_chunked_with(
        self, name: str, total: int, work: Callable[[Any, int, int], None]
    ) -> None:
        """next_task's stage_chunked for work done in Python: `work(cur, low, high)` per chunk,
        committed with its progress mark."""
        key = f"stage:{name}"
        progress = self.state(key) or {"done": 0, "seconds": 0.0}
        if progress["done"] >= total:
            return
        print(f"  {name}: {total:,} images", end="", flush=True)
        while progress["done"] < total:
            started = time.perf_counter()
            low = progress["done"] + 1
            high = min(total, progress["done"] + self.scale.chunk)
            with self.transaction() as cur:
                work(cur, low, high)
                progress = {
                    "done": high,
                    "seconds": round(progress["seconds"] + time.perf_counter() - started, 1),
                }
                self.state_set(cur, key, progress)
            print(".", end="", flush=True)
        print(f" {progress['seconds']:.1f} s", flush=True)

    def annotations_writer(
        self, params: dict[str, Any], authors: list[int], plans: dict[str, tuple]
    ) -> Callable[[Any, int, int], None]:
        """The chunk work of the annotations stage: one annotation per outlined image-label
        (its id the image-label's), its first revision and its refinement values."""
        from annotations.services import refinement_values
        from annotations.shapes import shapes_clean, shapes_coverage
        from labels_app.models import Label, LabelKind

        allowed = refinement_values()
        refinement_ids = dict(
            Label.objects.filter(kind=LabelKind.REFINEMENT).values_list("name", "pk")
        )
        applicable = {
            label.pk: [(kind.name, kind.values) for kind in Label.objects.refinements_for(label)]
            for label in Label.objects.filter(kind=LabelKind.OBJECT).select_related("parent")
        }
        anchor = params["anchor"]

        def work(cur, low: int, high: int) -> None:
            rng = random.Random(f"{SEED}-{low}")  # the same rows when a chunk is redone
            cur.execute(OUTLINED_ITEMS, {**params, "lo": low, "hi": high})
            annotations, revisions, refinements = [], [], []
            for image_label, label, labelled in cur.fetchall():
                shapes = shapes_clean(
                    shapes_random(rng, applicable.get(label, [])), refinements=allowed
                )
                text = orjson.dumps(shapes).decode()
                author = rng.choice(authors)
                created = min(anchor, labelled + timedelta(days=rng.uniform(1, 60)))
                approved = rng.random() < 0.65
                good = rng.randint(2, 4) if approved else rng.randint(0, 1)
                evidence = good * 1.5 if approved else 0.0
                key = rng.random()
                annotations.append(
                    (
                        *(image_label, image_label, 1, text, shapes_coverage(shapes), author),
                        *(created, created, good, 0, 0, good, evidence),
                        1 / (1 + math.exp(-evidence)),
                        "approved" if approved else "open",
                        not approved,
                        key,
                        key,
                    )
                )
                revisions.append((image_label, 1, text, author, created))
                refinements.extend(
                    (image_label, index, refinement_ids[name], value)
                    for index, shape in enumerate(shapes)
                    for name, value in shape.get("refinements", {}).items()
                )
            copy_rows(cur, plans["annotations"], iter(annotations))
            copy_rows(cur, plans["revisions"], iter(revisions))
            copy_rows(cur, plans["refinements"], iter(refinements))

        return work

    def signature(self) -> list[list[str]]:
        with self.conn.cursor() as cur:
            cur.execute(SCHEMA_SIGNATURE, {"tables": TABLES})
            return [list(row) for row in cur.fetchall()]

    def sequences_reset(self) -> None:
        with self.conn.cursor() as cur:
            for table in ("labels_app_imagelabel", "annotations_annotation"):
                cur.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {}))"
                    ).format(sql.Identifier(table)),
                    [table],
                )

    def vacuum_analyze(self) -> None:
        with self.conn.cursor() as cur:
            for table in ("contributors_contributor", *TABLES):
                cur.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))

    def counts(self) -> dict[str, int]:
        with self.conn.cursor() as cur:
            cur.execute(SEEDED_COUNTS)
            names = (
                "images",
                "image_labels",
                "confirmed",
                "rejected",
                "open",
                "annotations",
                "shapes",
                "refinements",
                "misplaced",
            )
            return dict(zip(names, cur.fetchone(), strict=True))


# --- Archive files ----------------------------------------------------------------------------


def sample_jpeg() -> bytes:
    """A photo-sized JPEG that compresses like a photo (noise, gradients): about 125 kB."""
    import io

    from PIL import Image, ImageFilter

    noise = Image.effect_noise(ARCHIVE_JPEG_SIZE, 30)
    gradient = Image.linear_gradient("L").resize(ARCHIVE_JPEG_SIZE)
    picture = Image.merge(
        "RGB", (noise, gradient, Image.blend(noise, gradient.rotate(90), 0.5))
    ).filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def archive_files_ensure(seeder: Seeder, media_root: Path) -> dict[str, Any]:
    """The archive's query (the newest ~10k images) and a real file for each image it
    selects, where the image rows point; the rows get the file's size. Recorded as a stage;
    missing files (a cleaned media folder) are written again."""
    from django.db import connection

    from datasets.services import ExportRequest, export_select
    from donations.models import Image

    key = "stage:archive files"
    recorded = seeder.state(key)
    started = time.perf_counter()
    if recorded is None:
        newest = (
            Image.objects.public()
            .order_by("-created_at", "-pk")
            .values_list("created_at", flat=True)[ARCHIVE_IMAGES - 1 : ARCHIVE_IMAGES]
        )
        query = f"image.donated >= {newest[0].date().isoformat()}"
    else:
        query = recorded["query"]
    selection = export_select(ExportRequest(query=query, format="coco", include_images=True))
    names = list(selection.images.values_list("file", flat=True))
    data = sample_jpeg()
    written = [name for name in names if not (media_root / name).exists()]
    for name in written:
        path = media_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    width, height = ARCHIVE_JPEG_SIZE
    with connection.cursor() as cur:
        # The rows describe their files as ingest would, CRC-32 included (a run before this
        # one was recorded may have left it out).
        cur.execute(
            "UPDATE donations_image SET byte_size = %s, width = %s, height = %s, crc32 = %s "
            "WHERE file = ANY(%s) AND crc32 IS DISTINCT FROM %s",
            [len(data), width, height, zlib.crc32(data), names, zlib.crc32(data)],
        )
    if recorded is None or written:
        recorded = {
            "query": query,
            "images": len(names),
            "bytes": sum((media_root / name).stat().st_size for name in names),
            "seconds": round(time.perf_counter() - started, 1),
        }
        with seeder.conn.cursor() as cur:
            seeder.state_set(cur, key, recorded)
        print(
            f"  archive files: {len(written):,} of {len(names):,} written "
            f"({mb(recorded['bytes'] // 1024):,.0f} MB) in {recorded['seconds']:.1f} s"
        )
    return {**recorded, "media_root": str(media_root)}


# --- In-process measurements ------------------------------------------------------------------


def statement_kind(statement: str) -> str:
    text = " ".join(statement.split())
    if "MAX(" in text:
        return "header: dataset_version aggregates"
    if text.startswith('SELECT "donations_image"') and "LIMIT" in text:
        return "page of images (keyset)"
    if 'FROM "annotations_annotation"' in text:
        return "annotations of the page"
    if 'FROM "labels_app_imagelabel"' in text and '"image_id" IN' in text:
        return "image-labels of the page"
    if 'FROM "labels_app_label"' in text:
        return "categories"
    return text[:60]


class StatementTimer:
    """Time per statement kind through Django's execute wrapper; keeps one of each."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = defaultdict(list)
        self.statements: dict[str, tuple[str, Any]] = {}

    def __call__(self, execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            kind = statement_kind(statement)
            self.totals[kind].append(time.perf_counter() - started)
            self.statements.setdefault(kind, (statement, params))


def export_sample(export_format: str, images: int) -> dict[str, Any]:
    """The export's own functions on its first `images` images: the header, pages with their
    SQL, then the format's writer over the records already built."""
    from django.db import connection

    from datasets import formats
    from datasets.services import (
        ExportRequest,
        export_categories,
        export_header,
        export_pages,
        export_select,
    )

    selection = export_select(ExportRequest(format=export_format))
    timer = StatementTimer()
    records: list[dict] = []
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        header = export_header(selection)
        options = {"categories": export_categories(selection)} if export_format == "coco" else {}
        headed = time.perf_counter()
        for page in export_pages(selection, base_url=BASE_URL):
            records.extend(record for record, _stored in page)
            if len(records) >= images:
                break
        paged = time.perf_counter()
    size = 0
    for chunk in formats.WRITERS[export_format](header, iter(records), **options):
        size += len(chunk)
    encoded = time.perf_counter()
    header_sql = sum(
        sum(v) for k, v in timer.totals.items() if k.startswith("header") or k == "categories"
    )
    page_sql = sum(sum(v) for v in timer.totals.values()) - header_sql
    return {
        "images": len(records),
        "pages": math.ceil(len(records) / 500),
        "image_labels": sum(len(r["labels"]) + len(r["negatives"]) for r in records),
        "shapes": sum(len(a["shapes"]) for r in records for a in r["annotations"]),
        "bytes": size,
        "header": headed - started,
        "sql": {kind: sum(values) for kind, values in timer.totals.items()},
        "page_sql": page_sql,
        "python": paged - headed - page_sql,
        "encode": encoded - paged,
        "plans": page_plans(timer.statements),
    }


def page_plans(statements: dict[str, tuple[str, Any]]) -> dict[str, list[str]]:
    """EXPLAIN ANALYZE of one page's statements: the plan nodes with their actual times."""
    from django.db import connection

    plans = {}
    with connection.cursor() as cur:
        for kind, (statement, params) in statements.items():
            if kind.startswith("header") or kind == "categories":
                continue
            cur.execute("EXPLAIN (ANALYZE) " + statement, params)
            lines = [row[0] for row in cur.fetchall()]
            plans[kind] = [
                line[:150] for line in lines if "actual" in line or line.startswith("Execution")
            ]
    return plans


def export_profile(export_format: str, images: int, top: int = 14) -> list[str]:
    """The top of a cProfile (own time) of the same work, as printable lines."""
    profiler = cProfile.Profile()
    profiler.enable()
    export_sample(export_format, images)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]
    lines = [f"      own s   cum s      calls  (of {total:.2f} s own time under the profiler)"]
    for (filename, line, function), (_, calls, own, cumulative, _) in rows:
        where = filename
        for prefix in (str(REPO_ROOT) + "/", "site-packages/", "lib/python3"):
            if prefix in where:
                where = where.split(prefix, 1)[1]
        lines.append(f"    {own:7.2f} {cumulative:7.2f} {calls:>10,}  {where}:{line}({function})")
    return lines


def sample_print(export_format: str, figures: dict[str, Any]) -> None:
    pages = max(1, figures["pages"])
    total = figures["page_sql"] + figures["python"] + figures["encode"]
    print(
        f"\n  {export_format.upper()} pipeline in-process, first {figures['images']:,} images "
        f"({pages} pages of 500; {figures['image_labels']:,} image-labels, "
        f"{figures['shapes']:,} shapes, {mb(figures['bytes'] // 1024):.1f} MB):"
    )
    print(f"    header and categories, once: {figures['header'] * 1000:.0f} ms")
    for kind, seconds in sorted(figures["sql"].items(), key=lambda kv: -kv[1]):
        if kind.startswith("header") or kind == "categories":
            continue
        print(f"    SQL {kind:<30} {seconds / pages * 1000:7.1f} ms/page")
    for name, seconds in (
        ("SQL, all statements", figures["page_sql"]),
        ("Python: rows to records", figures["python"]),
        (f"encoding ({export_format} writer)", figures["encode"]),
    ):
        print(
            f"    {name:<34} {seconds / pages * 1000:7.1f} ms/page  "
            f"{seconds / total:5.1%} of the time"
        )
    print(
        f"    in-process rate: {rate(figures['images'], total):,.0f} images/s, "
        f"{rate(figures['image_labels'], total):,.0f} image-labels/s, "
        f"{rate(figures['shapes'], total):,.0f} shapes/s"
    )


def query_measure(repeats: int) -> dict[str, Any]:
    """The live count's service work for a 10-term query: export_select (compile_query
    included), the images count, and export_preview as the count endpoint calls it."""
    from django.db import connection

    from datasets.query.compiler import compile_query
    from datasets.services import ExportRequest, export_preview, export_select

    request = ExportRequest(query=TEN_TERM_QUERY, format="jsonl")
    facts = export_select(ExportRequest()).positive
    for _ in range(3):
        export_preview(export_select(request))
    compiled, selected, counted, both, previewed = [], [], [], [], []
    images = preview = None
    for _ in range(repeats):
        started = time.perf_counter()
        compile_query(request.query, facts=facts)
        compiled.append(time.perf_counter() - started)
        started = time.perf_counter()
        selection = export_select(request)
        chosen = time.perf_counter()
        images = selection.count()
        done = time.perf_counter()
        selected.append(chosen - started)
        counted.append(done - chosen)
        both.append(done - started)
        started = time.perf_counter()
        preview = export_preview(selection)
        previewed.append(time.perf_counter() - started)
    compiling, counting = StatementTimer(), StatementTimer()
    with connection.execute_wrapper(compiling):
        selection = export_select(request)
    with connection.execute_wrapper(counting):
        selection.count()
    statement, params = next(iter(counting.statements.values()))
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        plan = [row[0] for row in cur.fetchall()]
    return {
        "compile_ms": median_ms(compiled),
        "select_ms": median_ms(selected),
        "count_ms": median_ms(counted),
        "both_ms": median_ms(both),
        "both_p95_ms": statistics.quantiles(both, n=20)[18] * 1000 if len(both) > 2 else 0.0,
        "preview_ms": median_ms(previewed),
        "images": images,
        "image_labels": preview["image_labels"] if preview else 0,
        "compile_statements": sum(len(v) for v in compiling.totals.values()),
        "plan": plan,
    }


def whole_export_counts() -> dict[str, int]:
    """What the whole-dataset export holds, from the database (the body is checked against)."""
    from django.db.models import Count, F, Func, IntegerField, Sum

    from annotations.models import Annotation
    from datasets.services import ExportRequest, export_preview, export_select

    selection = export_select(ExportRequest(format="jsonl"))
    preview = export_preview(selection, samples=0)
    outlined = Annotation.objects.filter(
        image_label__state="confirmed", image_label__image__status="unlocked"
    ).aggregate(
        rows=Count("pk"),
        shapes=Sum(Func(F("shapes"), function="jsonb_array_length", output_field=IntegerField())),
    )
    return {
        "images": preview["images"],
        "image_labels": preview["image_labels"],
        "annotations": outlined["rows"] or 0,
        "shapes": outlined["shapes"] or 0,
    }


# --- Worker: seeding and in-process figures for one database, in its own process -------------


def outlines_refresh(seeder: Seeder) -> dict[str, Any]:
    """The outlines' export forms, as the first export would work them out (none when a run
    before did it), then statistics for the planner."""
    from datasets.services import export_outlines_refresh

    started = time.perf_counter()
    count = export_outlines_refresh()
    seconds = time.perf_counter() - started
    with seeder.conn.cursor() as cur:
        cur.execute("ANALYZE datasets_exportoutline")
    return {"count": count, "seconds": seconds}


def worker(args: argparse.Namespace) -> None:
    import warnings

    import django

    django.setup()
    warnings.filterwarnings("ignore", message="No directory at")
    app_check()
    scale = SCALES[args.worker]
    url = args.database_url
    print(f"\n=== {scale.name}: {database_name(url)} ===", flush=True)
    started = time.perf_counter()
    seeder = Seeder(url, scale)
    try:
        config = seeder.run()
        with seeder.conn.cursor() as cur:
            # The catalog tables are filled by sync_labels, not by the bulk load; where
            # autovacuum is off (as on the machine this was written on) they would never get
            # statistics, and the planner would misjudge every join to them.
            cur.execute("ANALYZE labels_app_label, labels_app_labelterm")
        counts = seeder.counts()
        outlines = outlines_refresh(seeder)
        archive = (
            archive_files_ensure(seeder, Path(os.environ["MEDIA_ROOT"])) if args.archive else None
        )
    finally:
        seeder.close()
    seeding_print(seeder, config, started)
    print(
        f"  rows: {counts['images']:,} unlocked images, {counts['image_labels']:,} image-labels "
        f"({counts['confirmed']:,} confirmed, {counts['rejected']:,} rejected, "
        f"{counts['open']:,} open), {counts['annotations']:,} annotations with "
        f"{counts['shapes']:,} shapes and {counts['refinements']:,} refinement values"
    )
    print(
        f"  export outlines (datasets.ExportOutline) worked out: {outlines['count']:,} in "
        f"{outlines['seconds']:.1f} s (the first export after a bulk load pays this once)"
    )
    if counts["misplaced"]:
        raise SystemExit(f"{counts['misplaced']:,} annotations sit on undecided image-labels.")
    whole = whole_export_counts()
    print(
        f"  the whole export: {whole['images']:,} images with {whole['image_labels']:,} decided "
        f"image-labels, {whole['annotations']:,} annotations ({whole['shapes']:,} shapes)"
    )
    if archive:
        print(
            f"  archive query {archive['query']!r}: {archive['images']:,} images, "
            f"{mb(archive['bytes'] // 1024):,.0f} MB of files in {archive['media_root']}"
        )

    query = query_measure(args.repeats)
    print(f"\n  10-term query, median of {args.repeats}: {TEN_TERM_QUERY}")
    print(
        f"    compile_query {query['compile_ms']:.1f} ms; export_select {query['select_ms']:.1f}"
        f" ms + images count {query['count_ms']:.1f} ms = {query['both_ms']:.1f} ms (p95 "
        f"{query['both_p95_ms']:.1f}); export_preview (both counts, samples) "
        f"{query['preview_ms']:.1f} ms"
    )
    print(
        f"    {query['images']:,} images, {query['image_labels']:,} image-labels; export_select "
        f"ran {query['compile_statements']} SQL statements (compile_query's catalog load)"
    )

    samples = {}
    profiles = {}
    for export_format in ("jsonl", "coco"):
        samples[export_format] = export_sample(export_format, args.sample)
        sample_print(export_format, samples[export_format])
        profiles[export_format] = export_profile(export_format, args.sample // 2)
    result = {
        "scale": scale.name,
        "counts": counts,
        "whole": whole,
        "archive": archive,
        "query": query,
        "samples": samples,
        "profiles": profiles,
        "seeding_seconds": config["seconds"],
    }
    Path(args.result).write_text(json.dumps(result))


def bench_env(url: str, data_dir: Path) -> dict[str, str]:
    env = worker_env(url, data_dir)
    env["MEDIA_ROOT"] = str(REPO_ROOT / "var" / "bench-media" / database_name(url))
    return env


def run_worker(
    scale: str, url: str, args: argparse.Namespace, data_dir: Path, *, archive: bool
) -> dict[str, Any]:
    env = bench_env(url, data_dir)
    if database_ensure(url, reseed=args.reseed):
        print(f"\nCreated database {database_name(url)}.", flush=True)
        shutil.rmtree(env["MEDIA_ROOT"], ignore_errors=True)
    migrate(env)
    result_file = data_dir / f"result-{scale}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--worker", scale, "--database-url", url, "--result", str(result_file)),
        *("--sample", str(args.sample), "--repeats", str(args.repeats)),
    ]
    if archive:
        command.append("--archive")
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True)  # noqa: S603
    return json.loads(result_file.read_text())


# --- Streamed exports over HTTP ---------------------------------------------------------------


class MarkerCount:
    """Occurrences of a byte string in a body read in chunks (a match may span two)."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.count = 0
        self.tail = b""
        self.first_at: float | None = None  # time.perf_counter() of the first match

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        found = data.count(self.marker)
        if found and not self.count:
            self.first_at = time.perf_counter()
        self.count += found
        self.tail = data[len(data) - len(self.marker) + 1 :]


MARKERS = {
    "jsonl": {"images": b"\n", "image_labels": b'"probability":'},
    "coco": {
        "images": b'"imagemonkey_id":',
        "shapes": b'"iscrowd":',
        "annotations_section": b'],"annotations":[',
    },
}


class RssSampler(threading.Thread):
    """VmRSS of a process every 20 ms until stopped: the peak seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.peak_at = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            rss = proc_status_kb(self.pid, "VmRSS")
            if rss > self.peak:
                self.peak, self.peak_at = rss, time.perf_counter()


def body_read(conn: http.client.HTTPConnection, path: str, counters: dict[str, MarkerCount]):
    """(status, seconds to headers, seconds to first body byte, seconds, bytes, start)."""
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    headed = time.perf_counter()
    first, size = None, 0
    while chunk := response.read1(1 << 16):
        if first is None:
            first = time.perf_counter()
        size += len(chunk)
        for counter in counters.values():
            counter.feed(chunk)
    done = time.perf_counter()
    return (
        response.status,
        headed - started,
        (first or done) - started,
        done - started,
        size,
        started,
    )


def http_export(server: Server, export_format: str) -> dict[str, Any]:
    """One whole-dataset export from a fresh Daphne, after a warm-up export of nothing."""
    pid = server.process.pid
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    try:
        warm = body_read(
            conn, f"{EXPORT_PATH}?format={export_format}&query={quote(EMPTY_QUERY)}", {}
        )
        if warm[0] != 200:
            raise SystemExit(f"The warm-up export answered {warm[0]}.")
        baseline = proc_status_kb(pid, "VmRSS")
        counters = {name: MarkerCount(m) for name, m in MARKERS[export_format].items()}
        sampler = RssSampler(pid)
        sampler.start()
        load = os.getloadavg()[0]
        before = cpu_snapshot([pid])
        status, headers, ttfb, seconds, size, started = body_read(
            conn, f"{EXPORT_PATH}?format={export_format}", counters
        )
        after = cpu_snapshot([pid])
        sampler.stopped.set()
        sampler.join()
        end_rss = proc_status_kb(pid, "VmRSS")
    finally:
        conn.close()
    elapsed = after.at - before.at
    daphne = after.processes[pid] - before.processes[pid]
    postgres = after.postgres - before.postgres
    client = after.own - before.own
    machine = after.machine_busy - before.machine_busy
    return {
        "format": export_format,
        "status": status,
        "headers": headers,
        "ttfb": ttfb,
        "seconds": seconds,
        "bytes": size,
        "counted": {name: counter.count for name, counter in counters.items()},
        "first_seen": {
            name: counter.first_at - started
            for name, counter in counters.items()
            if counter.first_at is not None
        },
        "rss_peak_at": sampler.peak_at - started if sampler.peak else 0.0,
        "rss_baseline_kb": baseline,
        "rss_sampled_kb": sampler.peak,
        "rss_hwm_kb": proc_status_kb(pid, "VmHWM"),
        "rss_end_kb": end_rss,
        "load_before": load,
        "cores": {
            "Daphne": daphne / elapsed,
            "PostgreSQL (all databases)": postgres / elapsed,
            "bench client": client / elapsed,
            "other processes": (machine - daphne - postgres - client) / elapsed,
        },
    }


def http_run(url: str, data_dir: Path) -> dict[str, dict[str, Any]]:
    runs = {}
    for export_format in ("jsonl", "coco"):
        with daphne_servers(1, bench_env(url, data_dir), data_dir) as servers:
            runs[export_format] = http_export(servers[0], export_format)
    return runs


def http_print(name: str, whole: dict[str, int], run: dict[str, Any]) -> None:
    seconds = run["seconds"]
    counted = run["counted"]
    print(
        f"\n  {run['format'].upper()} over HTTP ({name}): status {run['status']}, "
        f"{mb(run['bytes'] // 1024):,.1f} MB in {seconds:.1f} s "
        f"({rate(run['bytes'] / MB, seconds):.1f} MB/s); headers after "
        f"{run['headers'] * 1000:.0f} ms, first body byte after {run['ttfb'] * 1000:.0f} ms"
    )
    if run["format"] == "jsonl":
        print(
            f"    {counted['images']:,} images, {counted['image_labels']:,} image-labels in the "
            f"body (database: {whole['images']:,} and {whole['image_labels']:,}) = "
            f"{rate(counted['image_labels'], seconds):,.0f} image-labels/s, "
            f"{rate(counted['images'], seconds):,.0f} images/s"
        )
    else:
        print(
            f"    {counted['images']:,} images, {counted['shapes']:,} COCO annotations in the "
            f"body (database: {whole['images']:,} images, {whole['shapes']:,} shapes of "
            f"{whole['annotations']:,} annotation rows) = "
            f"{rate(counted['shapes'], seconds):,.0f} COCO annotations/s "
            f"({rate(whole['annotations'], seconds):,.0f} annotation rows/s), "
            f"{rate(counted['images'], seconds):,.0f} images/s"
        )
    print(
        f"    Daphne RSS: {mb(run['rss_baseline_kb']):.0f} MB before the export, peak "
        f"{mb(run['rss_hwm_kb']):.0f} MB (VmHWM; sampled peak {mb(run['rss_sampled_kb']):.0f}"
        f" MB), {mb(run['rss_end_kb']):.0f} MB after"
    )
    section = run["first_seen"].get("annotations_section")
    print(
        f"    sampled RSS peak {run['rss_peak_at']:.1f} s into the export"
        + (f"; the annotations section (spool replay) began at {section:.1f} s" if section else "")
    )
    shares = ", ".join(f"{k} {v:.2f}" for k, v in run["cores"].items())
    print(f"    CPU in cores (of {os.cpu_count()}): {shares}")
    if run["cores"]["other processes"] > 0.25 or run["load_before"] > 1.0:
        print(
            f"    NOTE: contended: other processes used {run['cores']['other processes']:.2f} "
            f"cores (load average {run['load_before']:.2f} before the export)"
        )


# --- Archive: a worker process of its own -----------------------------------------------------


def archive_worker(args: argparse.Namespace) -> None:
    """Start an archive job and build it with export_archive_build, as the task does."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage
    from django.db import connection

    from contributors.models import Contributor
    from datasets.models import ExportJob
    from datasets.services import ExportRequest, export_archive_build, export_job_start

    user, _ = get_user_model().objects.get_or_create(username=EXPORTER_USERNAME)
    contributor, _ = Contributor.objects.get_or_create(user=user)

    def forget_jobs() -> None:
        for job in ExportJob.objects.filter(contributor=contributor):
            if job.archive and default_storage.exists(job.archive):
                default_storage.delete(job.archive)
            job.delete()

    forget_jobs()  # so the same export is built again, not handed back
    request = ExportRequest(query=args.archive_query, format="coco", include_images=True)
    job = export_job_start(contributor=contributor, request=request, base_url=BASE_URL)
    baseline = proc_status_kb(os.getpid(), "VmRSS")
    profiler = cProfile.Profile() if args.profile else None
    timer = StatementTimer()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
        with connection.execute_wrapper(timer):
            built = export_archive_build(job_id=job.pk)
        profiler.disable()
    else:
        built = export_archive_build(job_id=job.pk)
    seconds = time.perf_counter() - started
    result = {
        "state": built.state,
        "error": built.error,
        "images": built.rows_total,
        "byte_size": built.byte_size,
        "seconds": seconds,
        "rss_baseline_kb": baseline,
        "rss_hwm_kb": proc_status_kb(os.getpid(), "VmHWM"),
    }
    if profiler:
        stats = pstats.Stats(profiler)
        rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:14]
        result["profile"] = [
            f"    {own:7.2f} {cum:7.2f} {calls:>10,}  {Path(f).name}:{line}({function})"
            for (f, line, function), (_, calls, own, cum, _) in rows
        ]
        result["sql"] = [
            f"    {sum(values):6.2f} s {len(values):>5} x  {kind}"
            for kind, values in sorted(timer.totals.items(), key=lambda kv: -sum(kv[1]))[:8]
        ]
    forget_jobs()
    Path(args.result).write_text(json.dumps(result))


def archive_run(url: str, archive: dict[str, Any], data_dir: Path, *, profile: bool = False):
    result_file = data_dir / "archive.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        *("--archive-worker", "--database-url", url, "--result", str(result_file)),
        *("--archive-query", archive["query"]),
    ]
    if profile:
        command.append("--profile")
    os.sync()  # as before each cp: no earlier writes still being flushed during the build
    subprocess.run(command, cwd=REPO_ROOT, env=bench_env(url, data_dir), check=True)  # noqa: S603
    return json.loads(result_file.read_text())


def cp_measure(archive: dict[str, Any]) -> float:
    """Seconds of `cp -r` of the archive's image files into a temporary folder (best of 2)."""
    source = Path(archive["media_root"]) / "images"
    best = math.inf
    for _ in range(2):
        target = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-cp-"))
        try:
            os.sync()  # no earlier writes still being flushed during the copy
            started = time.perf_counter()
            subprocess.run(["cp", "-r", str(source), str(target)], check=True)  # noqa: S603, S607
            best = min(best, time.perf_counter() - started)
        finally:
            shutil.rmtree(target, ignore_errors=True)
    return best


# --- Orchestrator -----------------------------------------------------------------------------


def rss_verdicts(runs: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = []
    for export_format in ("jsonl", "coco"):
        peaks = {name: mb(r[export_format]["rss_hwm_kb"]) for name, r in runs.items()}
        text = ", ".join(f"{name} {peak:.0f} MB" for name, peak in peaks.items())
        ok = all(peak <= TARGET_RSS_MB for peak in peaks.values())
        line = (
            f"  {export_format.upper():<5} Daphne peak RSS: {text}; target <= "
            f"{TARGET_RSS_MB:.0f} MB: {verdict(ok)}"
        )
        if "small" in peaks and "full" in peaks:
            ratio = peaks["full"] / peaks["small"]
            line += (
                f"; 1M / 100k = {ratio:.2f}{TIMES}, flat (<= {TARGET_RSS_FLAT:.2f}{TIMES}): "
                f"{verdict(ratio <= TARGET_RSS_FLAT)}"
            )
        lines.append(line)
    return lines


def summary(
    results: dict[str, dict[str, Any]],
    runs: dict[str, dict[str, dict[str, Any]]],
    archive: dict[str, Any] | None,
    started: float,
) -> None:
    print("\n=== Summary ===")
    for name, result in results.items():
        jsonl, coco = runs[name]["jsonl"], runs[name]["coco"]
        labels_per_s = rate(jsonl["counted"]["image_labels"], jsonl["seconds"])
        shapes_per_s = rate(coco["counted"]["shapes"], coco["seconds"])
        images = result["counts"]["images"]
        print(
            f"  {name:<5} ({images:>9,} images) JSONL: {labels_per_s:>9,.0f} image-labels/s "
            f"(target >= {TARGET_LABELS_PER_S:,}: {verdict(labels_per_s >= TARGET_LABELS_PER_S)})"
            f", {jsonl['seconds']:6.1f} s, {mb(jsonl['bytes'] // 1024):7,.0f} MB, TTFB "
            f"{jsonl['ttfb']:.2f} s ({verdict(jsonl['ttfb'] <= TARGET_TTFB_S)}), peak RSS "
            f"{mb(jsonl['rss_hwm_kb']):.0f} MB"
        )
        rows_per_s = rate(result["whole"]["annotations"], coco["seconds"])
        print(
            f"  {name:<5} ({images:>9,} images) COCO:  {shapes_per_s:>9,.0f} annotations/s "
            f"(target >= {TARGET_ANNOTATIONS_PER_S:,}: "
            f"{verdict(shapes_per_s >= TARGET_ANNOTATIONS_PER_S)}; {rows_per_s:,.0f} annotation "
            f"rows/s), {coco['seconds']:6.1f} s, {mb(coco['bytes'] // 1024):7,.0f} MB, TTFB "
            f"{coco['ttfb']:.2f} s ({verdict(coco['ttfb'] <= TARGET_TTFB_S)}), peak RSS "
            f"{mb(coco['rss_hwm_kb']):.0f} MB"
        )
    for line in rss_verdicts(runs):
        print(line)
    for name, result in results.items():
        query = result["query"]
        target = (
            f"target <= {TARGET_COUNT_MS:.0f} ms: {verdict(query['both_ms'] <= TARGET_COUNT_MS)}"
        )
        print(
            f"  10-term query compile + count at {name}: {query['both_ms']:.1f} ms "
            f"(compile_query {query['compile_ms']:.1f}, count {query['count_ms']:.1f}; "
            f"export_preview {query['preview_ms']:.1f} ms)"
            + (f", {target}" if name == "full" else " (the target is for 1M)")
        )
    if archive:
        print(
            f"  archive ({archive['images']:,} images, coco): {archive['mb_per_s']:.0f} MB/s vs "
            f"cp {archive['cp_mb_per_s']:.0f} MB/s = {archive['share']:.0%} (target >= "
            f"{TARGET_ARCHIVE_SHARE:.0%}: {verdict(archive['share'] >= TARGET_ARCHIVE_SHARE)}), "
            f"worker peak RSS {mb(archive['rss_hwm_kb']):.0f} MB"
        )
    print(f"  whole run: {(time.perf_counter() - started) / 60:.1f} min")


def time_spent(
    results: dict[str, dict[str, Any]], runs: dict[str, dict[str, dict]], biggest: str
) -> None:
    """Where the time goes, for each streamed export that missed a target."""
    for name, result in results.items():
        for export_format in ("jsonl", "coco"):
            run = runs[name][export_format]
            speed = (
                rate(run["counted"]["image_labels"], run["seconds"]) >= TARGET_LABELS_PER_S
                if export_format == "jsonl"
                else rate(run["counted"]["shapes"], run["seconds"]) >= TARGET_ANNOTATIONS_PER_S
            )
            if speed and run["ttfb"] <= TARGET_TTFB_S:
                continue
            sample = result["samples"][export_format]
            pages = max(1, sample["pages"])
            server_cpu = run["cores"]["Daphne"]
            if server_cpu > 0.8:
                bound = "Python in the serving process (one core)"
            elif run["cores"]["other processes"] > 0.25:
                bound = "a CPU shared with other processes (contended)"
            elif server_cpu + run["cores"]["PostgreSQL (all databases)"] >= 0.8:
                bound = "Python and PostgreSQL taking turns (one page at a time, one connection)"
            else:
                bound = "waiting (on PostgreSQL or the client)"
            print(
                f"\n=== Where the time goes: {export_format.upper()} at {name} "
                f"({'speed' if not speed else 'first byte'} missed) ==="
            )
            print(
                f"  over HTTP the Daphne process used {server_cpu:.2f} cores and PostgreSQL "
                f"{run['cores']['PostgreSQL (all databases)']:.2f}, other processes "
                f"{run['cores']['other processes']:.2f}: the export is bound by {bound}"
            )
            print(
                f"  in-process per page of 500: SQL {sample['page_sql'] / pages * 1000:.1f} ms, "
                f"rows to records {sample['python'] / pages * 1000:.1f} ms, encoding "
                f"{sample['encode'] / pages * 1000:.1f} ms; header {sample['header'] * 1000:.0f}"
                " ms once (before the first byte)"
            )
            print("  EXPLAIN ANALYZE of one page's statements (plan nodes):")
            for kind, lines in sample["plans"].items():
                print(f"    -- {kind}")
                print("\n".join(f"    {line}" for line in lines))
            print(f"  cProfile of the same work on {sample['images'] // 2:,} images:")
            print("\n".join(result["profiles"][export_format]))
        query = result["query"]
        if name == biggest and query["both_ms"] > TARGET_COUNT_MS:
            print(f"\n=== Where the time goes: the 10-term count at {name} ===")
            print(f"  EXPLAIN (ANALYZE, BUFFERS) of the images count ({len(query['plan'])} lines):")
            print("\n".join(f"    {line}" for line in query["plan"][:40]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        choices=["full", "small"],
        default="full",
        help="full: 100k and 1M, archive at 1M (default); small: 100k only, archive at 100k",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--small-database-url", help="default: the --database-url name with '_small' appended"
    )
    parser.add_argument("--reseed", action="store_true", help="drop and reseed the databases")
    parser.add_argument(
        "--sample", type=int, default=20_000, help="images in the in-process breakdown"
    )
    parser.add_argument("--repeats", type=int, default=15, help="timed 10-term counts")
    parser.add_argument("--worker", choices=sorted(SCALES), help=argparse.SUPPRESS)
    parser.add_argument("--archive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--archive-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--archive-query", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample < 1000 or args.repeats < 3:
        parser.error("--sample >= 1000 and --repeats >= 3 please")
    check_local(args.database_url)
    if args.worker:
        worker(args)
        return
    if args.archive_worker:
        archive_worker(args)
        return

    started = time.perf_counter()
    small_url = args.small_database_url or with_database(
        args.database_url, database_name(args.database_url) + "_small"
    )
    check_local(small_url)
    urls = {"small": small_url}
    if args.scale == "full":
        urls["full"] = args.database_url
    biggest = list(urls)[-1]
    print("Dataset export benchmark")
    print("\n".join(machine_info(args.database_url)))
    print(
        f"Parameters: scale={args.scale}; in-process breakdown on {args.sample:,} images; "
        f"{args.repeats} timed 10-term counts"
    )
    print(
        "Rate limiting is OFF (RATELIMIT_ENABLE=false). Tasks: dummy backend (the archive is "
        "built by export_archive_build in a process of its own). "
        f"DATABASE_POOL: {os.environ.get('DATABASE_POOL', 'app default (on)')}."
    )
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-bench-export-"))
    try:
        results = {
            name: run_worker(name, url, args, data_dir, archive=name == biggest)
            for name, url in urls.items()
        }
        print(
            "\n=== Streamed exports of the whole dataset over HTTP: a fresh Daphne process "
            "each, keep-alive client reading chunks ==="
        )
        runs = {}
        for name, url in urls.items():
            runs[name] = http_run(url, data_dir)
            for run in runs[name].values():
                http_print(name, results[name]["whole"], run)
        archive = results[biggest]["archive"]
        builds = [archive_run(urls[biggest], archive, data_dir) for _ in range(2)]
        built = min(builds, key=lambda b: b["seconds"])
        built["rss_hwm_kb"] = max(b["rss_hwm_kb"] for b in builds)
        cp_seconds = cp_measure(archive)
        archive_mb = archive["bytes"] / MB
        figures = {
            **built,
            "mb_per_s": rate(archive_mb, built["seconds"]),
            "cp_mb_per_s": rate(archive_mb, cp_seconds),
        }
        figures["share"] = rate(figures["mb_per_s"], figures["cp_mb_per_s"])
        times = ", ".join(f"{b['seconds']:.1f}" for b in builds)
        print(
            f"\n=== Archive at {biggest}: export_archive_build, format coco, "
            f"{archive['query']!r} ==="
        )
        print(
            f"  job {built['state']}{(': ' + built['error']) if built['error'] else ''}; "
            f"{built['images']:,} images, {mb(archive['bytes'] // 1024):,.0f} MB of files, ZIP "
            f"{mb(built['byte_size'] // 1024):,.0f} MB, built in {built['seconds']:.1f} s (best of "
            f"{times} s, each in a new worker "
            f"process) = {figures['mb_per_s']:.0f} MB/s of image files"
        )
        print(
            f"  cp -r of the same files: {cp_seconds:.1f} s = {figures['cp_mb_per_s']:.0f} MB/s "
            f"(best of 2); the archive at {figures['share']:.0%} of it"
        )
        print(
            f"  worker RSS: {mb(built['rss_baseline_kb']):.0f} MB before the build, peak "
            f"{mb(built['rss_hwm_kb']):.0f} MB (VmHWM, the larger of the two)"
        )
        if figures["share"] < TARGET_ARCHIVE_SHARE:
            profiled = archive_run(urls[biggest], archive, data_dir, profile=True)
            print(
                f"  where the time goes (cProfile of a second build, {profiled['seconds']:.1f} s"
                " under the profiler):"
            )
            print("    SQL by statement (seconds, statements):")
            print("\n".join(profiled["sql"]))
            print("      own s   cum s      calls")
            print("\n".join(profiled["profile"]))
        time_spent(results, runs, biggest)
        summary(results, runs, figures, started)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
