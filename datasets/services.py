"""Exports: which images and facts leave the site, read page by page so any size streams.

Only public images and decided facts: an image-label counts as a *label* when it is confirmed
with probability ≥ `min_probability` (and at least `min_votes` counted votes), as a *negative*
when it is rejected with 1 − probability ≥ `min_probability`. Open questions never leave.
When the query names labels, an image's labels, negatives and outlines are those labels (and
their descendants), and with negatives on, images confirmed not to show them come along too;
a query without labels (or no query) exports every fact of the images.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import math
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, timedelta
from itertools import islice

import orjson
from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    TextField,
)
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation, AnnotationRevision
from annotations.shapes import shape_bounds, without_original
from contributors.models import Contributor
from core.errors import DomainError
from donations.models import Image
from labels_app.models import ImageLabel, ImageLabelState, Label, LabelKind
from validations.models import Vote

from . import archives, database_writers, formats, live, tasks
from .formats import FACT_FIELDS
from .lookups import AnyOf
from .models import ExportJob, ExportJobState, ExportOutline
from .query.compiler import CompiledQuery, compile_query

logger = logging.getLogger(__name__)
LINK_SALT = "datasets.export-link"

STREAM_FORMATS = ("json", "jsonl", "csv", "coco", "parquet")
# Only as archives with the image files (POST /api/exports/jobs/).
ARCHIVE_ONLY_FORMATS = ("voc", "yolo", "yolo_seg", "imagefolder")
FORMATS = STREAM_FORMATS + ARCHIVE_ONLY_FORMATS
PARQUET_TABLES = ("images", "labels", "shapes")
PAGE_SIZE = 500
MAX_COUNT = 999_999_999
PARAMETERS = (
    "query",
    "format",
    "min_probability",
    "min_votes",
    "annotations_only",
    "include_negatives",
    "seed",
    "table",
    "include_images",
)
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes"), ("false", "0", "no", "")


@dataclass(frozen=True)
class ExportRequest:
    """What an integrator asked for, checked (see `export_request_from`)."""

    query: str = ""
    format: str = "json"
    min_probability: float = 0.0
    min_votes: int = 0
    annotations_only: bool = False
    include_negatives: bool = True
    seed: int = 0
    table: str = "images"
    include_images: bool = False

    @property
    def is_archive(self) -> bool:
        return self.include_images or self.format in ARCHIVE_ONLY_FORMATS


def export_request_from(params: Mapping[str, str]) -> ExportRequest:
    """An ExportRequest from query-string parameters, or a DomainError naming the parameter."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise DomainError(
            f"Unknown parameter {unknown[0][:40]!r}; exports take {', '.join(PARAMETERS)}.",
            code="unknown_parameter",
        )
    export_format = params.get("format", "json")
    if export_format not in FORMATS:
        raise DomainError(
            f"Unknown format {export_format[:40]!r}; use one of {', '.join(FORMATS)}.",
            code="invalid_format",
        )
    table = params.get("table", "images")
    if table not in PARQUET_TABLES or ("table" in params and export_format != "parquet"):
        raise DomainError(
            f"table is for format=parquet and one of {', '.join(PARQUET_TABLES)}, "
            f"not {table[:40]!r}.",
            code="invalid_table",
        )
    return ExportRequest(
        include_images=_flag(params.get("include_images"), name="include_images"),
        table=table,
        query=params.get("query", "").strip(),
        format=export_format,
        min_probability=_probability(params.get("min_probability")),
        min_votes=_count(params.get("min_votes"), name="min_votes"),
        annotations_only=_flag(params.get("annotations_only"), name="annotations_only"),
        include_negatives=_flag(params.get("include_negatives", "true"), name="include_negatives"),
        seed=_count(params.get("seed"), name="seed"),
    )


def _probability(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise DomainError(
            f"min_probability must be a number from 0 to 1 (e.g. 0.8), not {raw[:40]!r}.",
            code="invalid_min_probability",
        )
    return value


def _count(raw: str | None, *, name: str) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) > MAX_COUNT:
        raise DomainError(
            f"{name} must be a whole number from 0 to {MAX_COUNT:,}, not {raw[:40]!r}.",
            code=f"invalid_{name}",
        )
    return int(raw)


def _flag(raw: str | None, *, name: str) -> bool:
    value = (raw or "").lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise DomainError(f"{name} is true or false, not {raw[:40]!r}.", code=f"invalid_{name}")


@dataclass(frozen=True)
class Selection:
    """A checked, compiled export: the images to write and the facts of each."""

    request: ExportRequest
    images: object  # QuerySet[Image], ordered for keyset pages
    # The same images as a query of their ids (with negatives, a union: counted without a
    # join back to the images).
    image_ids: object
    labels: frozenset[int]
    positive: Q
    negative: Q
    order: CompiledQuery | None = None  # the query's `order by`, when it has one
    # The images the query matches, when the selection is exactly those of them with one of
    # `facts()`: a writer that reads each image's facts anyway can check that itself.
    matching: object | None = None

    def count(self) -> int:
        return self.image_ids.count()

    def facts(self):
        """The image-labels the export writes: its labels and negatives."""
        wanted = self.positive | self.negative if self.request.include_negatives else self.positive
        return _facts_of(self.labels, wanted)


def _facts_of(labels: frozenset[int], wanted: Q):
    """The image-labels of `labels` (of any label when none are named) that are `wanted`."""
    facts = ImageLabel.objects.order_by()
    if labels:
        facts = facts.filter(label_id__in=labels)
    return facts.filter(wanted)


def export_select(request: ExportRequest) -> Selection:
    """Compile the query and build the image selection (nothing is read yet)."""
    positive = _positive(request)
    negative = Q(state=ImageLabelState.REJECTED, probability__lte=1 - request.min_probability)
    if request.min_votes:
        negative &= Q(counted_votes__gte=request.min_votes)
    images = Image.objects.public()
    matching, labels, compiled = Q(), frozenset(), None
    if request.query:
        compiled = compile_query(request.query, facts=positive, seed=request.seed)
        matching, labels = compiled.images, compiled.labels

    def with_a_fact(wanted: Q) -> Exists:
        return Exists(_facts_of(labels, wanted).filter(image_id=OuterRef("pk")))

    checked_by_facts = None
    if request.annotations_only:
        images = images.filter(
            matching, with_a_fact(positive & Q(annotation__isnull=False, annotation__hidden=False))
        )
    elif compiled is not None and compiled.anchored:
        # The query itself asks for a label fact of `labels` (compiled with these facts): a
        # second look-up per image would find what the first already did.
        images = images.filter(matching)
    else:
        checked_by_facts = images.filter(matching)
        wanted = positive | negative if request.include_negatives else positive
        images = checked_by_facts.filter(with_a_fact(wanted))
    image_ids = images.order_by().values("pk")
    if labels and request.include_negatives and not request.annotations_only:
        # Images confirmed *not* to show the query's labels come along as negatives: what a
        # detector of those labels learns "absent" from. A union rather than an OR, so that
        # PostgreSQL joins each side on its indexes instead of filtering every image. Their
        # image is public when it is none of the others: an anti-join PostgreSQL answers
        # from the few such images instead of looking up the image of every fact.
        hidden = Image.objects.not_public().filter(pk=OuterRef("image_id"))
        absent = _facts_of(labels, negative).exclude(Exists(hidden))
        image_ids = image_ids.union(absent.values("image_id"))
        images = Image.objects.filter(pk__in=image_ids)
        checked_by_facts = None
    return Selection(
        request=request,
        images=images.order_by("pk"),
        image_ids=image_ids,
        labels=labels,
        positive=positive,
        negative=negative,
        order=compiled if compiled is not None and compiled.order_key else None,
        matching=checked_by_facts,
    )


def _positive(request: ExportRequest) -> Q:
    """What makes an image-label a label of the export."""
    positive = Q(state=ImageLabelState.CONFIRMED, probability__gte=request.min_probability)
    if request.min_votes:
        positive &= Q(counted_votes__gte=request.min_votes)
    return positive


def export_records(selection: Selection, *, base_url: str) -> Iterator[dict]:
    """One record per image, in keyset pages of PAGE_SIZE (three queries a page, whatever the
    size of the export)."""
    for page in export_pages(selection, base_url=base_url):
        for record, _stored in page:
            yield record


def export_pages(
    selection: Selection, *, base_url: str, ids_first: bool = False
) -> Iterator[list[tuple[dict, str]]]:
    """The records a page at a time, each with the name of its image file in storage (for
    archives, which copy the files; the name itself never leaves the site), in the query's
    order (else by image id). `ids_first` (an archive, where the first byte does not wait on
    it): the selection's ids are read in one query, planned for the whole selection, before
    the first page."""
    url = _file_url(base_url)
    labels = _label_names()
    pages = _id_pages(selection) if ids_first and selection.order is None else None
    for rows in pages or _row_pages(selection):
        facts, outlines = _page_facts(selection, [row[0] for row in rows])
        if not labels.keys() >= {fact[2] for fact in facts}:
            labels = _label_names()  # a label added while the export streams
        yield _page_records(rows, facts, outlines, labels=labels, url=url)


# A page of images as tuples of these and the donation day (the order key last, when there is
# one); the day comes from the database, a date being cheaper to read than a timestamp.
ROW_FIELDS = ("pk", "width", "height", "file")


def _row_pages(selection: Selection) -> Iterator[list[tuple]]:
    order = selection.order
    images = selection.images
    if order is None:
        yield from _keyset(images, key=None, descending=False)
    elif order.order_key == "random":
        # Two index range scans from the seeded start, wrapping round (no sort of the table).
        start = order.random_offset
        yield from _keyset(images.filter(random_key__gte=start), key="random_key", descending=False)
        yield from _keyset(images.filter(random_key__lt=start), key="random_key", descending=False)
    else:
        ranked = images.annotate(order_value=order.order_value)
        yield from _keyset(ranked, key="order_value", descending=order.order_descending)


def _id_pages(selection: Selection) -> Iterator[list[tuple]]:
    """Pages of the selection in id order, from the ids of the whole selection. A page of a
    keyset walks the id index from where the last one ended, which for a selection of a few
    of the table's images (the newest ones, one label) reads most of the index to fill each
    page; the one query of the ids is planned on the selection's own indexes (a date range,
    a label) and read from a server-side cursor, a page's worth at a time."""
    ids = selection.images.order_by("pk").values_list("pk", flat=True)
    fields = (*ROW_FIELDS, TruncDate("created_at", tzinfo=UTC))
    chunk = ids.iterator(chunk_size=PAGE_SIZE)
    while page := list(islice(chunk, PAGE_SIZE)):
        rows = Image.objects.filter(AnyOf(F("pk"), page)).order_by("pk")
        yield list(rows.values_list(*fields))


def _keyset(images, *, key: str | None, descending: bool) -> Iterator[list[tuple]]:
    """Pages ordered by `key` (then image id), each starting after the last row of the one
    before: no OFFSET, whatever the depth."""
    donated = TruncDate("created_at", tzinfo=UTC)
    fields = (*ROW_FIELDS, donated) if key is None else (*ROW_FIELDS, donated, key)
    ordering = ("pk",) if key is None else (f"-{key}" if descending else key, "pk")
    images = images.order_by(*ordering)
    last = None
    while True:
        page = images
        if last is not None:
            pk, value = last[0], last[-1]
            if key is None:
                page = page.filter(pk__gt=pk)
            else:
                beyond = f"{key}__lt" if descending else f"{key}__gt"
                page = page.filter(Q(**{beyond: value}) | Q(**{key: value, "pk__gt": pk}))
        rows = list(page.values_list(*fields)[:PAGE_SIZE])
        if not rows:
            return
        yield rows
        last = rows[-1]


def _file_url(base_url: str) -> tuple[str, str]:
    """The public URL of an image file, as what comes before and after the image id."""
    placeholder = str(uuid.UUID(int=0))
    path = reverse("image-file", kwargs={"pk": placeholder, "variant": "full"})
    before, after = path.split(placeholder)
    return base_url + before, after


def _label_names() -> dict[int, tuple[int, str]]:
    """Every label's (place in name order, name): labels are few, so a dict beats a join on
    each page, and the place is the database's own collation order."""
    names = Label.objects.order_by("name").values_list("pk", "name")
    return {pk: (place, name) for place, (pk, name) in enumerate(names)}


def _page_facts(selection: Selection, ids: list) -> tuple[list[tuple], dict[int, tuple]]:
    """The page's exported image-labels as FACT_FIELDS tuples (in no particular order), and
    the outlines of the confirmed ones by image-label id: (annotation id, revision, shapes
    with their pixel forms as JSON text)."""
    facts = selection.facts().filter(AnyOf(F("image_id"), ids))
    facts = list(facts.values_list(*FACT_FIELDS))
    confirmed = [fact[0] for fact in facts if fact[3] == ImageLabelState.CONFIRMED]
    if not confirmed:
        return facts, {}
    export_outlines_refresh(image_label_ids=confirmed)
    # By the image-labels' ids, not a join: PostgreSQL planned the join as a scan of every
    # annotation on each page.
    outlines = ExportOutline.objects.filter(AnyOf(F("image_label_id"), confirmed))
    return facts, {
        image_label: (annotation, revision, text)
        for image_label, annotation, revision, text in outlines.values_list(
            "image_label_id", "annotation_id", "revision", "shapes"
        )
    }


OUTLINE_BATCH = 2000


def export_outlines_refresh(
    *, annotation_ids: list[int] | None = None, image_label_ids: list[int] | None = None
) -> int:
    """Work out the export forms (`ExportOutline`) of the outlines drawn, redrawn or refined
    since they were last worked out (of all, of the given annotations or of the given
    image-labels' annotations); returns how many.

    A change of shapes asks for it once committed (the annotations app announces
    "annotation.drawn"), and every export catches up before it reads any (the database's
    writers for all outlines at the start, the pages in Python for each page's), so no
    export reads the forms of older shapes; usually there is nothing or little left to do."""
    annotations = Annotation.objects.filter(hidden=False)
    if annotation_ids is not None:
        annotations = annotations.filter(pk__in=annotation_ids)
    if image_label_ids is not None:
        annotations = annotations.filter(AnyOf(F("image_label_id"), image_label_ids))
    # The shapes come as the stored text, for orjson (several times faster than JSONField's
    # json.loads).
    shapes = ExpressionWrapper(F("shapes"), output_field=TextField())
    stale = (
        ExportOutline.objects.stale_annotations(annotations)
        .order_by("pk")
        .values_list(
            "pk",
            "image_label_id",
            "revision",
            "updated_at",
            shapes,
            "image_label__image__width",
            "image_label__image__height",
        )
    )
    done, last = 0, 0
    # Keyset batches: each an index range of the annotations, not the whole table again.
    while batch := list(stale.filter(pk__gt=last)[:OUTLINE_BATCH]):
        last = batch[-1][0]
        outlines = []
        for pk, image_label, revision, drawn_at, text, width, height in batch:
            drawn = [shape_with_pixels(shape, width, height) for shape in orjson.loads(text)]
            outlines.append(
                ExportOutline(
                    image_label_id=image_label,
                    annotation_id=pk,
                    revision=revision,
                    drawn_at=drawn_at,
                    shapes=orjson.dumps(drawn).decode(),
                    coco="\n".join(
                        formats.coco_fields(shape, width, height).decode() for shape in drawn
                    ),
                )
            )
        ExportOutline.objects.bulk_create(
            outlines,
            update_conflicts=True,
            unique_fields=["image_label"],
            update_fields=["annotation", "revision", "drawn_at", "shapes", "coco"],
        )
        done += len(outlines)
    return done


def annotation_drawn(*, annotation_id: int) -> None:
    export_outlines_refresh(annotation_ids=[annotation_id])


def annotation_hidden(*, annotation_id: int) -> None:
    ExportOutline.objects.filter(annotation_id=annotation_id).delete()


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cycle collector: a page's records are tens of thousands of small containers
    that live until written, and each collection they trigger walks the whole heap again (a
    page took 2-4 times as long). Records hold no cycles, so nothing waits to be freed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _page_records(
    rows: list[tuple],
    facts: list[tuple],
    outlines: dict[int, tuple],
    *,
    labels: dict[int, tuple[int, str]],
    url: tuple,
) -> list[tuple[dict, str]]:
    """The page's records with their stored file names. A fact is a label when confirmed
    (with its outline, if any; an outline on a rejected image-label never leaves) and a
    negative otherwise; each list in label-name order."""
    confirmed = ImageLabelState.CONFIRMED
    url_prefix, url_suffix = url
    page = []
    with _cyclic_gc_paused():
        # Keyed by the ids' integers: hashing a UUID object is a Python call each time.
        facts_of = {row[0].int: ([], [], []) for row in rows}
        facts.sort(key=lambda fact: labels[fact[2]][0])
        for fact_id, image_id, label_id, state, probability, yes, no, unsure, votes in facts:
            positives, negatives, outlined = facts_of[image_id.int]
            name = labels[label_id][1]
            if state == confirmed:
                positives.append(
                    {
                        "label": name,
                        "probability": round(probability, 6),
                        "yes": yes,
                        "no": no,
                        "unsure": unsure,
                        "votes": votes,
                    }
                )
                if fact_id in outlines:
                    outlined.append((name, *outlines[fact_id]))
            else:
                negatives.append({"label": name, "probability": round(probability, 6)})
        for pk, width, height, stored, donated, *_key in rows:
            image_id = str(pk)
            positives, negatives, outlined = facts_of[pk.int]
            record = {
                "id": image_id,
                "url": f"{url_prefix}{image_id}{url_suffix}",
                "file_name": f"{image_id}.{stored.rsplit('.', 1)[-1]}",
                "width": width,
                "height": height,
                "donated": donated.isoformat(),
                "labels": positives,
                "negatives": negatives,
                "annotations": [
                    {
                        "id": annotation,
                        "label": name,
                        "revision": revision,
                        "shapes": orjson.loads(shapes),
                    }
                    for name, annotation, revision, shapes in outlined
                ],
            }
            page.append((record, stored))
    return page


def shape_with_pixels(shape: dict, width: int, height: int) -> dict:
    """A stored shape (normalised) with its pixel form and its bounding box in both."""
    kind = shape["type"]
    if kind == "rect":
        x, y, w, h = shape["x"], shape["y"], shape["width"], shape["height"]
        pixels = {"x": x * width, "y": y * height, "width": w * width, "height": h * height}
    elif kind == "ellipse":
        cx, cy, rx, ry = shape["cx"], shape["cy"], shape["rx"], shape["ry"]
        pixels = {"cx": cx * width, "cy": cy * height, "rx": rx * width, "ry": ry * height}
    else:
        pixels = {"points": [[x * width, y * height] for x, y in shape["points"]]}
    left, top, right, bottom = shape_bounds(shape)
    xmin, ymin = max(0.0, min(1.0, left)), max(0.0, min(1.0, top))
    xmax, ymax = max(0.0, min(1.0, right)), max(0.0, min(1.0, bottom))
    return {
        **without_original(shape),
        "pixels": pixels,
        "bbox": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
        "bbox_pixels": {
            "xmin": xmin * width,
            "ymin": ymin * height,
            "xmax": xmax * width,
            "ymax": ymax * height,
        },
    }


def export_categories(selection: Selection) -> list[dict]:
    """The labels an export can name, for formats with a category list (COCO, YOLO): the
    query's labels, or every object and scene label; the parent is the supercategory."""
    labels = Label.objects.exclude(kind=LabelKind.REFINEMENT)
    if selection.labels:
        labels = labels.filter(pk__in=selection.labels)
    return [
        {"id": pk, "name": name, "supercategory": parent or name}
        for pk, name, parent in labels.order_by("pk").values_list("pk", "name", "parent__name")
    ]


def dataset_version() -> str:
    """Changes whenever a vote, a revision or an image's review lands: the newest id of each."""
    votes = Vote.objects.aggregate(last=Max("pk"))["last"] or 0
    revisions = AnnotationRevision.objects.aggregate(last=Max("pk"))["last"] or 0
    reviewed = Image.objects.aggregate(last=Max("reviewed_at"))["last"]
    stamp = reviewed.strftime("%Y%m%d%H%M%S") if reviewed else "0"
    return f"{votes}.{revisions}.{stamp}"


def export_stream(selection: Selection, *, base_url: str) -> Iterator[bytes]:
    """The export's bytes in its format, a chunk at a time."""
    request = selection.request
    if request.format in DATABASE_WRITTEN and database_writers.writes(selection):
        return _database_written(selection, base_url=base_url)
    options: dict = {}
    if request.format in formats.WITH_CATEGORIES:
        options["categories"] = export_categories(selection)
    if request.format == "parquet":
        options["table"] = request.table
    return formats.WRITERS[request.format](
        export_header(selection), export_records(selection, base_url=base_url), **options
    )


DATABASE_WRITTEN = ("json", "jsonl", "coco")


def _database_written(selection: Selection, *, base_url: str) -> Iterator[bytes]:
    export_outlines_refresh()
    url = _file_url(base_url)
    header = export_header(selection)
    export_format = selection.request.format
    if export_format == "jsonl":
        yield from database_writers.record_lines(selection, url=url)
    elif export_format == "json":
        yield from database_writers.json_chunks(selection, header, url=url)
    else:
        categories = export_categories(selection)
        yield from database_writers.coco_chunks(selection, header, categories=categories, url=url)


def export_file_name(request: ExportRequest) -> str:
    suffix = {"coco": "coco.json", "parquet": f"{request.table}.parquet"}.get(
        request.format, request.format
    )
    return f"imagemonkey-export.{suffix}"


def export_preview(selection: Selection, *, samples: int = 8) -> dict:
    """What an export would hold, before downloading it: counts and a few image ids."""
    facts = selection.facts().filter(image_id__in=selection.image_ids)
    if selection.labels:
        # Every selected image has a wanted fact of the labels (export_select asks for one),
        # so its images are those of its facts: the selection is worked out once, not twice.
        # Without labels that would be every fact of every image (2.2M at 1M images) to
        # tell apart, slower than a second pass.
        counts = facts.aggregate(images=Count("image_id", distinct=True), image_labels=Count("pk"))
    else:
        counts = {"images": selection.count(), "image_labels": facts.count()}
    return {
        **counts,
        "samples": [str(pk) for pk in selection.images.values_list("pk", flat=True)[:samples]],
    }


def export_cost(selection: Selection) -> int:
    """What an archive counts against the `export_archive` rate limit: one per
    EXPORT_COST_IMAGES images, at least one, at most 50."""
    return 1 + min(49, selection.count() // settings.EXPORT_COST_IMAGES)


def export_parameters(data) -> dict[str, str]:
    """The export parameters among a form's or query string's fields (others are ignored),
    without empty ones, which mean the default."""
    return {name: data.get(name) for name in PARAMETERS if data.get(name) not in (None, "")}


def export_stream_check(request: ExportRequest) -> None:
    """Archives are built in the background, never streamed."""
    if request.is_archive:
        what = "with image files" if request.include_images else f"in {request.format} format"
        raise DomainError(
            f"Exports {what} are archives built in the background: POST the same parameters "
            "to /api/exports/jobs/ and download the archive when it is ready.",
            code="archive_export",
        )


def _fingerprint(request: ExportRequest, version: str) -> str:
    data = orjson.dumps(
        {"request": asdict(request), "version": version}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(data).hexdigest()


@transaction.atomic
def export_job_start(
    *, contributor: Contributor, request: ExportRequest, base_url: str
) -> ExportJob:
    """Queue an archive export, or hand back the finished archive of the same export of the
    same data version (nothing is rebuilt). At most EXPORT_MAX_RUNNING unfinished jobs each."""
    request = replace(request, include_images=True)
    export_select(request)  # the query and options are checked before anything is stored
    running = ExportJob.objects.of(contributor).unfinished().select_for_update().count()
    if running >= settings.EXPORT_MAX_RUNNING:
        raise DomainError(
            f"You have {running} exports being built; at most {settings.EXPORT_MAX_RUNNING} at "
            "once. Wait for one to finish.",
            code="too_many_exports",
            status=429,
        )
    version = dataset_version()
    fingerprint = _fingerprint(request, version)
    job = ExportJob(
        contributor=contributor,
        params=asdict(request),
        fingerprint=fingerprint,
        data_version=version,
        base_url=base_url,
    )
    built = ExportJob.objects.reusable(fingerprint).first()
    if built is not None and default_storage.exists(built.archive):
        job.state = ExportJobState.DONE
        job.archive, job.byte_size = built.archive, built.byte_size
        job.rows_done = job.rows_total = built.rows_total
        job.started_at = job.finished_at = timezone.now()
        job.save()
        return job
    job.save()
    transaction.on_commit(lambda: tasks.build_export_archive.enqueue(job_id=str(job.pk)))
    return job


def export_archive_build(*, job_id) -> ExportJob | None:
    """Build a queued job's archive (the background task). Progress goes to the job row and to
    anyone watching it live, about once a percent and at most once a second (each report is
    a committed update and a message)."""
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJobState.QUEUED).update(
        state=ExportJobState.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = ExportJob.objects.get(pk=job_id)
    request = ExportRequest(**job.params)
    try:
        selection = export_select(request)
        total = selection.count()
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total)
        step = max(1, total // 100)
        reported_at = time.monotonic()

        def progress(done: int) -> None:
            nonlocal reported_at
            now = time.monotonic()
            if done == total or (done % step == 0 and now - reported_at >= 1):
                reported_at = now
                ExportJob.objects.filter(pk=job.pk).update(rows_done=min(done, total))
                live.progress_send(job.pk)

        stored, images, size = archives.archive_store(
            f"exports/{job.pk}.zip",
            lambda output: archives.archive_write(
                export_format=request.format,
                header=export_header(selection),
                pages=export_pages(selection, base_url=job.base_url, ids_first=True),
                categories=export_categories(selection),
                output=output,
                progress=progress,
            ),
        )
    except Exception as error:
        logger.exception("Export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJobState.FAILED,
            error=f"The archive could not be built ({type(error).__name__}); try again.",
            finished_at=timezone.now(),
        )
    else:
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJobState.DONE,
            archive=stored,
            byte_size=size,
            rows_total=images,
            rows_done=images,
            finished_at=timezone.now(),
        )
        tasks.clean_up_exports.enqueue()
    live.progress_send(job.pk)
    return ExportJob.objects.get(pk=job.pk)


def exports_clean_up(*, now=None) -> int:
    """Delete archives older than EXPORT_KEEP_SECONDS that no newer job still hands out;
    returns how many files went."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.EXPORT_KEEP_SECONDS)
    removed = 0
    for name in set(
        ExportJob.objects.finished_before(cutoff)
        .exclude(archive="")
        .values_list("archive", flat=True)
    ):
        if ExportJob.objects.filter(archive=name, finished_at__gte=cutoff).exists():
            continue
        if default_storage.exists(name):
            default_storage.delete(name)
            removed += 1
        ExportJob.objects.filter(archive=name).update(archive="")
    return removed


def export_link(job: ExportJob) -> str:
    """A download path for a finished job's archive, valid EXPORT_LINK_SECONDS."""
    token = signing.TimestampSigner(salt=LINK_SALT).sign(str(job.pk))
    return reverse("export-download", kwargs={"token": token})


def export_job_for_link(token: str) -> ExportJob:
    """The finished job a download link names; 404 for a forged link, 410 for an old one."""
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        job_id = signer.unsign(token, max_age=settings.EXPORT_LINK_SECONDS)
    except signing.SignatureExpired:
        raise DomainError(
            "This download link has expired; open the export again for a fresh one.",
            code="link_expired",
            status=410,
        ) from None
    except signing.BadSignature:
        raise DomainError("There is no such download.", code="not_found", status=404) from None
    job = ExportJob.objects.filter(pk=job_id, state=ExportJobState.DONE).first()
    if job is None or not job.archive or not default_storage.exists(job.archive):
        raise DomainError(
            "This archive is no longer kept; start the export again.",
            code="archive_gone",
            status=410,
        )
    return job


def export_header(selection: Selection) -> dict:
    return {
        "license": "CC0-1.0",
        "notice": settings.EXPORT_NOTICE,
        "dataset_version": dataset_version(),
        "query": selection.request.query,
        "min_probability": selection.request.min_probability,
    }
