"""On PostgreSQL the database writes the streamed JSON, JSON Lines and COCO text itself.

Building a record in Python costs more than everything else an export does, so here one
statement per page of images turns them into their lines, joined into one text: the images in id
order, each with its facts and their outlines' export forms (`ExportOutline`, worked out once
per change of the shapes) looked up on their indexes. The Python writers (`formats`) stay the one
path of every other database, of ordered exports and of CSV, Parquet and archives; a test
checks that the two write the same.

The SQL around the selection is fixed text: the selection and its facts are the ORM's own
queries (the query language never becomes SQL text), set in as subqueries with their
parameters.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import orjson
from django.db import connection
from django.db.models import QuerySet

from donations.models import Image
from labels_app.models import ImageLabelState, Label

from . import formats
from .formats import FACT_FIELDS
from .models import ExportOutline

IMAGE_FIELDS = ("id", "width", "height", "file", "created_at")
# The fields every image entry shares. The file's extension as the Python writers take it
# (after the last dot; split_part of the reversed name, a regular expression cost 6 % of a
# COCO page); to_json quotes and escapes text.
_FILE_NAME = "to_json(i.id || '.' || reverse(split_part(reverse(i.file), '.', 1)))"
_DONATED = "to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
_PROBABILITY = "round(f.probability::numeric, 6)"
_CONFIRMED = f"'{ImageLabelState.CONFIRMED.value}'"  # a constant of the code, not input
# A fact's label is one of the export's categories: at most the newest of them and none of
# the few labels up to it that are not (see `_not_categories`). Checking the list of
# categories itself (hundreds of ids, three times a fact) cost a fifth of a COCO page.
_CATEGORY = "f.label_id <= %s AND f.label_id <> ALL(%s::bigint[])"

RECORD_LINES = f"""
SELECT coalesce(string_agg(page.line, E'\\n' ORDER BY page.id) || E'\\n', '') FROM (
SELECT i.id, '{{"id":"' || i.id || '","url":"' || %s || i.id || %s || '","file_name":'
    || {_FILE_NAME} || ',"width":' || i.width || ',"height":' || i.height
    || ',"donated":"' || {_DONATED} || '","labels":[' || coalesce(facts.labels, '')
    || '],"negatives":[' || coalesce(facts.negatives, '')
    || '],"annotations":[' || coalesce(facts.annotations, '') || ']}}' AS line
FROM ({{images}}) AS i
LEFT JOIN LATERAL (
    SELECT
        string_agg('{{"label":' || to_json(l.name) || ',"probability":' || {_PROBABILITY}
            || ',"yes":' || f.yes_count || ',"no":' || f.no_count
            || ',"unsure":' || f.unsure_count || ',"votes":' || f.counted_votes || '}}',
            ',' ORDER BY l.name) FILTER (WHERE f.state = {_CONFIRMED}) AS labels,
        string_agg('{{"label":' || to_json(l.name) || ',"probability":' || {_PROBABILITY}
            || '}}', ',' ORDER BY l.name) FILTER (WHERE f.state <> {_CONFIRMED}) AS negatives,
        string_agg('{{"id":' || o.annotation_id || ',"label":' || to_json(l.name)
            || ',"revision":' || o.revision || ',"shapes":' || o.shapes || '}}',
            ',' ORDER BY l.name) FILTER (WHERE o.annotation_id IS NOT NULL) AS annotations,
        count(*) AS count
    FROM ({{facts}}) AS f
    JOIN {{labels}} AS l ON l.id = f.label_id
    LEFT JOIN {{outlines}} AS o ON o.image_label_id = f.id AND f.state = {_CONFIRMED}
    WHERE f.image_id = i.id
) AS facts ON true
{{with_facts}}
) AS page
"""  # noqa: S608 (fixed text; values are parameters)

# A page of COCO in one statement (one snapshot): its image entries, an empty line, then the
# entries of their shapes. The shapes go to a spool until every image is out. An image is
# numbered by its page and its place in it (the table's images in the pages before + place):
# unique, and known before the pages before it are written, so pages can be written side by
# side. (COCO asks for unique whole numbers, not consecutive ones.) Negatives come in label-name
# order from the label ids in that order, a parameter, and are put in it only where an image
# has several: a look-up of each fact's label row, or a sort of each image's negatives, cost
# more than the rest of the image's facts.
COCO_PAGE = f"""
WITH i AS MATERIALIZED (
    SELECT i.id, i.width, i.height, i.file, i.created_at,
        %s + row_number() OVER (ORDER BY i.id) AS number,
        CASE WHEN cardinality(facts.negatives) > 1
            THEN ARRAY(SELECT n FROM unnest(facts.negatives) AS n
                       ORDER BY array_position(%s::bigint[], n))
            ELSE facts.negatives END AS negatives,
        facts.outlined, facts.outlined_labels
    FROM ({{images}}) AS i
    CROSS JOIN LATERAL (
        SELECT count(*) AS count,
            array_agg(f.label_id)
                FILTER (WHERE f.state <> {_CONFIRMED} AND {_CATEGORY}) AS negatives,
            array_agg(f.id) FILTER (WHERE f.state = {_CONFIRMED} AND {_CATEGORY})
                AS outlined,
            array_agg(f.label_id)
                FILTER (WHERE f.state = {_CONFIRMED} AND {_CATEGORY})
                AS outlined_labels
        FROM ({{facts}}) AS f
        WHERE f.image_id = i.id
    ) AS facts
    {{with_facts}}
)
SELECT coalesce(string_agg(line, E'\\n' ORDER BY part, number, shape) || E'\\n', '') FROM (
    SELECT 0 AS part, i.number, 0::bigint AS shape, '{{"id":' || i.number || ',"file_name":'
        || {_FILE_NAME} || ',"width":' || i.width || ',"height":' || i.height
        || ',"license":1,"coco_url":"' || %s || i.id || %s || '","date_captured":"'
        || {_DONATED} || '","imagemonkey_id":"' || i.id || '","neg_category_ids":['
        || coalesce(array_to_string(i.negatives, ','), '') || ']}}' AS line
    FROM i
    UNION ALL
    SELECT 1, 0, 0, ''
    UNION ALL
    SELECT 2, i.number, o.annotation_id * {formats.SHAPE_ID_STRIDE} + shape.place,
        '{{"id":' || o.annotation_id * {formats.SHAPE_ID_STRIDE} + shape.place
        || ',"image_id":' || i.number || ',"category_id":' || f.label_id || ','
        || shape.fields || '}}'
    FROM i
    CROSS JOIN LATERAL unnest(i.outlined, i.outlined_labels) AS f(id, label_id)
    JOIN {{outlines}} AS o ON o.image_label_id = f.id AND o.coco <> ''
    CROSS JOIN LATERAL string_to_table(o.coco, E'\\n') WITH ORDINALITY AS shape(fields, place)
    WHERE i.outlined IS NOT NULL
) AS lines
"""  # noqa: S608 (fixed text; values are parameters)

# Images of the table per page: each page is one statement, drained before its lines go on
# (the connection is then free for whatever runs between two chunks), and an image hidden
# meanwhile is left out of the pages after it, as in the Python writers. (Pages of 10,000
# images were no faster, and held 30-50 MB more at the peak.)
PAGE_IMAGES = 5000
FIRST_PAGE_IMAGES = 500
# What goes to the server at a time. A page is in memory whole anyway, and the server's cost
# is per chunk (Django's handler passes each from the writer's thread to the event loop): in
# formats.CHUNK_BYTES the whole COCO export of the bench took 7 % longer.
SEND_BYTES = 1024 * 1024
# Pages the database writes at once (each on a connection of its own): one a core while
# the page before goes out.
PAGES_AHEAD = 3


def writes(selection) -> bool:
    """Whether the database writes this export: on PostgreSQL, in image id order (exports
    with an `order by` page through the selection in Python)."""
    return connection.vendor == "postgresql" and selection.order is None


def record_lines(selection, *, url: tuple[str, str]) -> Iterator[bytes]:
    """The JSON Lines records; `url` is an image file's URL before and after its id."""
    for lines in _record_pages(selection, url=url):
        yield from _sliced(lines)


def json_chunks(selection, header: dict, *, url: tuple[str, str]) -> Iterator[bytes]:
    yield formats.json_opening(header)
    separator = b""
    for lines in _record_pages(selection, url=url):
        yield from _sliced(separator + _entries(lines))
        separator = b","
    yield formats.JSON_CLOSING


def coco_chunks(
    selection, header: dict, *, categories: list[dict], url: tuple[str, str]
) -> Iterator[bytes]:
    """COCO instances JSON: the images as they come, their shapes spooled to a temporary file
    (disk, not memory) and replayed once the images are done, like `formats.coco_chunks`."""
    category_ids = [category["id"] for category in categories]
    newest = max(category_ids, default=0)
    is_category = (newest, _not_categories(selection, category_ids, newest=newest)) * 3
    by_name = list(Label.objects.order_by("name").values_list("pk", flat=True))
    before = _escaped(url)

    # Each image's facts are read once, for its negatives and its outlines.
    statements = (
        (sql, (base, by_name, *image_params, *is_category, *fact_params, *before))
        for base, sql, image_params, fact_params in _page_statements(selection, COCO_PAGE)
    )

    yield formats.coco_opening(header, categories)
    separator = spooled = b""
    with tempfile.TemporaryFile(buffering=formats.CHUNK_BYTES) as spool:
        for text in _written(statements):
            if text.startswith(b"\n"):  # no image in this page
                continue
            entries, _, shapes = text.partition(b"\n\n")
            yield from _sliced(separator + entries.replace(b"\n", b","))
            separator = b","
            if shapes:
                spool.write(spooled + _entries(shapes))
                spooled = b","
        yield formats.COCO_BETWEEN
        spool.seek(0)
        # The spool is read faster than a client takes it, and the server (Daphne) holds
        # what it has not sent yet: in small blocks its memory stayed the same at 100k and
        # 1M images, in SEND_BYTES it grew with the spool.
        while block := spool.read(formats.CHUNK_BYTES):
            yield block
    yield formats.COCO_CLOSING


def _not_categories(selection, category_ids: list[int], *, newest: int) -> list[int]:
    """The labels up to `newest` that an export's facts can have but that are not among its
    categories: of the query's labels (its facts have no other), or of all; in practice the
    refinements, which are no category. Labels are never renumbered, so one added while the
    export runs is newer than `newest`."""
    labels = set(selection.labels) or set(
        Label.objects.filter(pk__lte=newest).values_list("pk", flat=True)
    )
    return sorted(labels - set(category_ids))


def _record_pages(selection, *, url: tuple[str, str]) -> Iterator[bytes]:
    """The records' lines, a page at a time."""
    before = _escaped(url)
    statements = (
        (sql, (*before, *image_params, *fact_params))
        for _base, sql, image_params, fact_params in _page_statements(selection, RECORD_LINES)
    )
    for lines in _written(statements):
        if lines:
            yield lines


def _page_statements(selection, template: str) -> Iterator[tuple[int, str, tuple, tuple]]:
    """Each page's statement of `template`, with the images of the table before it and the
    parameters of its images and of its facts. Where the selection is the matching images
    with a fact, the facts the statement reads for each image tell whether it has one (the
    selection's own check would look them up a second time)."""
    checked = selection.matching is not None
    template = template.replace("{with_facts}", "WHERE facts.count > 0" if checked else "")
    for base, images, facts in _pages(selection, images=selection.matching if checked else None):
        yield base, *_statement(template, images, facts)


def _written(statements: Iterator[tuple[str, tuple]]) -> Iterator[bytes]:
    """What each statement writes, in order. Outside a transaction PAGES_AHEAD pages are
    written at once, each on a connection of its own, so the database works on the next
    pages (on another core) while one goes out; inside a transaction, whose rows no other
    connection sees, one after another on its connection."""
    if connection.in_atomic_block:
        for sql, params in statements:
            yield _page_text(sql, params)
        return
    pool = ThreadPoolExecutor(max_workers=PAGES_AHEAD, thread_name_prefix="export-page")
    try:
        pending: deque[Future[bytes]] = deque()
        for sql, params in statements:
            pending.append(pool.submit(_page_text_closing, sql, params))
            if len(pending) == PAGES_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # A client gone mid-way: the pages not started are dropped.
        pool.shutdown(cancel_futures=True)


def _page_text_closing(sql: str, params: tuple) -> bytes:
    """`_page_text` in a thread of the pool, handing its connection back when done (to the
    connection pool, where one is configured)."""
    try:
        return _page_text(sql, params)
    finally:
        connection.close()


def _pages(selection, *, images=None) -> Iterator[tuple[int, QuerySet, QuerySet]]:
    """The selection's images (or the given ones) in ranges of image ids, with the export's
    facts (which the statements read per image) and how many images of the table the pages
    before held. A page holds at most PAGE_IMAGES images of the table (bounds found on its
    primary key, whatever the query); the first ones fewer, so the first bytes go out soon."""
    selected = selection.images if images is None else images
    table = Image.objects.order_by("pk").values_list("pk", flat=True)
    facts = selection.facts().values(*FACT_FIELDS)
    low, base, size = None, 0, FIRST_PAGE_IMAGES
    while True:
        size = min(size, PAGE_IMAGES)
        rest = table if low is None else table.filter(pk__gt=low)
        high = next(iter(rest[size - 1 : size]), None)
        images = selected
        if low is not None:
            images = images.filter(pk__gt=low)
        if high is not None:
            images = images.filter(pk__lte=high)
        # No more than `size` even when images were donated into the range meanwhile (they
        # are newer than the export), so that numbers by page stay apart.
        yield base, images.order_by("pk")[:size].values(*IMAGE_FIELDS), facts
        if high is None:
            return
        low, base, size = high, base + size, size * 2


def _statement(template: str, images: QuerySet, facts: QuerySet) -> tuple[str, tuple, tuple]:
    """The template with the ORM's SQL of the images and the facts set in, and the
    parameters of each (to be placed where their placeholders come in the text)."""
    image_sql, image_params = images.query.sql_with_params()
    fact_sql, fact_params = facts.query.sql_with_params()
    sql = template
    for marker, text in (
        ("{images}", image_sql),
        ("{facts}", fact_sql),
        ("{labels}", connection.ops.quote_name(Label._meta.db_table)),
        ("{outlines}", connection.ops.quote_name(ExportOutline._meta.db_table)),
    ):
        sql = sql.replace(marker, text)
    return sql, tuple(image_params), tuple(fact_params)


# A page is a few thousand images looked up one by one on their indexes. PostgreSQL's
# estimate of an id range that falls within one bucket of its histogram is a single row,
# and with it the planner chose joins that read every fact of the range once per image
# (minutes a page at 1M images); with only nested loops on the indexes it cannot go wrong.
# Memoize, which PostgreSQL puts before the look-ups of outlines, never finds a fact twice.
PLANNER = {"enable_hashjoin": "off", "enable_mergejoin": "off", "enable_memoize": "off"}


def _page_text(sql: str, params: tuple) -> bytes:
    """The page's lines (one JSON text each, each ending in a newline), which the database
    joins into one value: the page arrives in one read, where a row a line cost the site a
    call per line (and the lock on its interpreter that the other pages' threads wait for)."""
    with connection.cursor() as cursor:
        for name, value in PLANNER.items():
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
        try:
            cursor.cursor.execute(sql, params)
            (text,) = cursor.cursor.fetchone()
        finally:
            for name in PLANNER:
                cursor.execute(f"RESET {name}")
    return text.encode()


def _escaped(texts: tuple[str, ...]) -> tuple[str, ...]:
    """Texts escaped for inside a JSON string."""
    return tuple(orjson.dumps(text).decode()[1:-1] for text in texts)


def _entries(lines: bytes) -> bytes:
    """Lines as JSON array entries: a comma where each line ended but the last."""
    return lines[:-1].replace(b"\n", b",")


def _sliced(text: bytes) -> Iterator[bytes]:
    """A page's text in chunks of SEND_BYTES."""
    size = SEND_BYTES
    for start in range(0, len(text), size):
        yield text[start : start + size]
