"""What a release holds: its tables, their columns and which rows of the site each one has.

Only what is public: unlocked images and what was said about them, without anything about
people (no user, e-mail, network, token or session field is a column here) and without what
would tell gold items apart (known answers, pools, "on gold" marks). Contributors appear as
pseudonyms (`pseudonyms`). Withdrawn image-labels and hidden annotations are left out, with
everything that hangs off them; an incremental release lists them as deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from annotations.models import (
    Annotation,
    AnnotationRevision,
    AnnotationVote,
    RefinementAnswer,
    RefinementQuestion,
    ShapeRefinement,
)
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel, Label
from validations.models import Vote

SCHEMA_VERSION = 1
# How each kind of column is written: its Arrow type and its Croissant data type. Times are
# ISO 8601 text in UTC (the same in JSON Lines and Parquet); JSON values are JSON text in
# Parquet and nested JSON in JSON Lines.
KINDS = {
    "int": ("int64", "sc:Integer"),
    "float": ("float64", "sc:Float"),
    "bool": ("bool", "sc:Boolean"),
    "text": ("string", "sc:Text"),
    "uuid": ("string", "sc:Text"),
    "datetime": ("string", "sc:Text"),
    "pseudonym": ("string", "sc:Text"),
    "json": ("string", "sc:Text"),
    "int_list": ("list<int64>", "sc:Integer"),
    "text_list": ("list<string>", "sc:Text"),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    description: str
    source: str | None = None  # the field path read (the column's name when None)
    nullable: bool = False
    computed: bool = False  # worked out per page (Table.complete), not read

    @property
    def field(self) -> str:
        return self.source or self.name

    @property
    def repeated(self) -> bool:
        return self.kind.endswith("_list")


@dataclass(frozen=True)
class Table:
    name: str
    model: type
    description: str
    columns: tuple[Column, ...]
    rows: Callable[[], QuerySet]
    # Adds the computed columns to a page of records (labels: parts and aliases).
    complete: Callable[[list[dict]], None] | None = None

    @property
    def read_columns(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if not column.computed)


def _c(name, kind, description, **options) -> Column:
    return Column(name=name, kind=kind, description=description, **options)


def _label_extras(records: list[dict]) -> None:
    from labels_app.models import LabelTerm, TermKind

    ids = [record["id"] for record in records]
    parts: dict[int, list[int]] = {pk: [] for pk in ids}
    aliases: dict[int, list[str]] = {pk: [] for pk in ids}
    through = Label.parts.through.objects.filter(from_label_id__in=ids)
    for owner, part in through.order_by("from_label_id", "to_label_id").values_list(
        "from_label_id", "to_label_id"
    ):
        parts[owner].append(part)
    terms = LabelTerm.objects.filter(label_id__in=ids, kind=TermKind.ALIAS)
    for owner, display in terms.order_by("label_id", "term").values_list("label_id", "display"):
        aliases[owner].append(display)
    for record in records:
        record["parts"] = parts[record["id"]]
        record["aliases"] = aliases[record["id"]]


def _standing_image_labels() -> QuerySet:
    return ImageLabel.objects.standing().filter(public_q("image__"))


def _shown_annotations(path: str = "") -> dict:
    return {
        f"{path}hidden": False,
        f"{path}image_label__withdrawn": False,
        **dict(public_q(f"{path}image_label__image__").children),
    }


PSEUDONYM = "pseudonym of the contributor (the same in every release, not their id)"

TABLES: tuple[Table, ...] = (
    Table(
        name="labels",
        model=Label,
        description="The label catalog at this release: objects, scenes and refinements.",
        rows=lambda: Label.objects.all(),
        complete=_label_extras,
        columns=(
            _c("id", "int", "label id"),
            _c("name", "text", "label name, unique"),
            _c("plural", "text", "plural of the name"),
            _c("description", "text", "what the label means"),
            _c("kind", "text", "object, scene or refinement"),
            _c("parent_id", "int", "the broader label", nullable=True),
            _c("parts", "int_list", "ids of the labels this one has as parts", computed=True),
            _c("aliases", "text_list", "other words for it", computed=True),
            _c("values", "json", "a refinement's allowed values (JSON list)"),
            _c("question", "text", "a refinement's quiz question, with {label}"),
            _c("applies_to", "json", "groups or labels a refinement describes (JSON list)"),
            _c("group", "text", "the catalog file it comes from"),
            _c("active", "bool", "still in the catalog"),
            _c("origin", "text", "catalog or accepted suggestion"),
        ),
    ),
    Table(
        name="images",
        model=Image,
        description="The public images; `file` is the image file's path in the release.",
        rows=lambda: Image.objects.public(),
        columns=(
            _c("id", "uuid", "image id"),
            _c("file", "text", "path of the image file in the release (as stored)"),
            _c("media_type", "text", "image/jpeg, image/png or image/webp"),
            _c("byte_size", "int", "size of the file in bytes"),
            _c("width", "int", "pixels"),
            _c("height", "int", "pixels"),
            _c("sha256", "text", "sha256 of the file"),
            _c("crc32", "int", "CRC-32 of the file", nullable=True),
            _c("phash", "text", "64-bit perceptual hash (hex)"),
            _c("original_format", "text", "the format it was donated in"),
            _c("donated_at", "datetime", "when it was donated", source="created_at"),
            _c(
                "unlocked_at",
                "datetime",
                "when it was unlocked",
                source="reviewed_at",
                nullable=True,
            ),
            _c("donor", "pseudonym", PSEUDONYM, source="donor_id"),
        ),
    ),
    Table(
        name="image_labels",
        model=ImageLabel,
        description="Claims that an image shows a label, with the crowd's consensus.",
        rows=_standing_image_labels,
        columns=(
            _c("id", "int", "image-label id"),
            _c("image_id", "uuid", "the image"),
            _c("label_id", "int", "the label"),
            _c("added_by", "pseudonym", PSEUDONYM, source="added_by_id"),
            _c("created_at", "datetime", "when the label was added"),
            _c("yes_count", "int", "yes answers, counted or not"),
            _c("no_count", "int", "no answers, counted or not"),
            _c("unsure_count", "int", "not-sure answers"),
            _c("counted_votes", "int", "answers counted toward the consensus"),
            _c("evidence", "float", "sum of the counted answers' ± weights"),
            _c("established_evidence", "float", "the part of it from established voters"),
            _c("probability", "float", "probability that the image shows the label"),
            _c("state", "text", "open, confirmed or rejected"),
        ),
    ),
    Table(
        name="votes",
        model=Vote,
        description="Answers to “does this image show …?”, voters pseudonymised.",
        rows=lambda: Vote.objects.filter(
            public_q("image_label__image__"), image_label__withdrawn=False
        ),
        columns=(
            _c("id", "int", "vote id"),
            _c("image_label_id", "int", "the image-label answered"),
            _c("voter", "pseudonym", PSEUDONYM, source="contributor_id"),
            _c("answer", "text", "yes, no or unsure"),
            _c("counted", "bool", "whether it counts toward the consensus"),
            _c("weight", "float", "evidence it adds while counted"),
            _c("created_at", "datetime", "when it was given"),
        ),
    ),
    Table(
        name="annotations",
        model=Annotation,
        description="Shapes outlining an image-label's label (normalised [0,1] coordinates).",
        rows=lambda: Annotation.objects.filter(**_shown_annotations()),
        columns=(
            _c("id", "int", "annotation id"),
            _c("image_label_id", "int", "the image-label outlined"),
            _c("author", "pseudonym", PSEUDONYM, source="author_id"),
            _c("revision", "int", "the current revision number"),
            _c("shapes", "json", "the current shapes (JSON list)"),
            _c("coverage", "float", "share of the image the shapes cover"),
            _c("created_at", "datetime", "when it was first drawn"),
            _c("updated_at", "datetime", "when its shapes last changed"),
            _c("good_count", "int", "good reviews of the current revision"),
            _c("bad_count", "int", "bad reviews of the current revision"),
            _c("unsure_count", "int", "not-sure reviews of the current revision"),
            _c("counted_votes", "int", "reviews counted"),
            _c("evidence", "float", "sum of the counted reviews' ± weights"),
            _c("probability", "float", "probability that the outline is good"),
            _c("review_state", "text", "open, approved or rejected"),
        ),
    ),
    Table(
        name="annotation_revisions",
        model=AnnotationRevision,
        description="Every revision of every annotation.",
        rows=lambda: AnnotationRevision.objects.filter(**_shown_annotations("annotation__")),
        columns=(
            _c("id", "int", "revision id"),
            _c("annotation_id", "int", "the annotation"),
            _c("number", "int", "revision number"),
            _c("shapes", "json", "the shapes of this revision (JSON list)"),
            _c("author", "pseudonym", PSEUDONYM, source="author_id"),
            _c("created_at", "datetime", "when it was drawn"),
            _c("restored_from", "int", "the revision a moderator restored", nullable=True),
        ),
    ),
    Table(
        name="annotation_reviews",
        model=AnnotationVote,
        description="Reviews of annotation revisions: good, bad or not sure.",
        rows=lambda: AnnotationVote.objects.filter(**_shown_annotations("annotation__")),
        columns=(
            _c("id", "int", "review id"),
            _c("annotation_id", "int", "the annotation"),
            _c("revision", "int", "the revision reviewed"),
            _c("reviewer", "pseudonym", PSEUDONYM, source="contributor_id"),
            _c("answer", "text", "good, bad or unsure"),
            _c("counted", "bool", "whether it counts"),
            _c("weight", "float", "evidence it adds while counted"),
            _c("created_at", "datetime", "when it was given"),
        ),
    ),
    Table(
        name="refinements",
        model=ShapeRefinement,
        description="Refinement values (colour, material…) on the shapes of annotations.",
        rows=lambda: ShapeRefinement.objects.filter(**_shown_annotations("annotation__")),
        columns=(
            _c("id", "int", "refinement value id"),
            _c("annotation_id", "int", "the annotation"),
            _c("shape_index", "int", "the shape's place in the annotation's shapes"),
            _c("refinement_id", "int", "the refinement label"),
            _c("value", "text", "the value"),
        ),
    ),
    Table(
        name="quiz_questions",
        model=RefinementQuestion,
        description="Quiz questions about one shape (“what colour is this car?”).",
        rows=lambda: RefinementQuestion.objects.filter(**_shown_annotations("annotation__")),
        columns=(
            _c("id", "int", "question id"),
            _c("annotation_id", "int", "the annotation"),
            _c("revision", "int", "the revision asked about"),
            _c("shape_index", "int", "the shape's place in that revision"),
            _c("refinement_id", "int", "the refinement label asked for"),
            _c("state", "text", "open, decided, unknown or stale"),
            _c("value", "text", "the decided value"),
            _c("answer_count", "int", "answers given"),
            _c("dont_know_count", "int", "don't-know answers"),
            _c("created_at", "datetime", "when it was asked"),
            _c("decided_at", "datetime", "when it was decided", nullable=True),
        ),
    ),
    Table(
        name="quiz_answers",
        model=RefinementAnswer,
        description="Answers to quiz questions; an empty value is “don't know”.",
        rows=lambda: RefinementAnswer.objects.filter(
            **_shown_annotations("question__annotation__")
        ),
        columns=(
            _c("id", "int", "answer id"),
            _c("question_id", "int", "the question"),
            _c("contributor", "pseudonym", PSEUDONYM, source="contributor_id"),
            _c("value", "text", "the answer"),
            _c("counted", "bool", "whether it counts"),
            _c("weight", "float", "evidence it adds while counted"),
            _c("created_at", "datetime", "when it was given"),
        ),
    ),
)
TABLES_BY_NAME = {table.name: table for table in TABLES}
