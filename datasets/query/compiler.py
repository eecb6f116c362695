"""Giving a parsed query its meaning: ORM filters on images, never SQL text.

A query is true or false for an image. A label term holds when the image has a *fact* for the
label or one of its descendants (`=animal`: the label itself only) — by default a confirmed
image-label; exports narrow facts further with `min_probability`. Accessors and attributes:

- `dog.has='mouth'`: a fact for dog and one for mouth, a part of dog in the catalog;
- `car.colour='red'`: an outline of a car whose shape carries colour = red (a refinement, by
  name or alias);
- `image.width`, `image.height` (px), `image.num_labels`, `image.num_annotations`,
  `image.num_open_annotation_tasks`, `image.unlabeled = 'true'|'false'`, `image.donated` (a
  date), `annotation.coverage` (%, share of the image covered by outlines of the labels the
  query names, or of any label when it names none).
"""

from __future__ import annotations

import difflib
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from annotations.models import Annotation, ShapeRefinement
from labels_app.models import ImageLabel, ImageLabelState, Label, LabelKind, LabelTerm
from labels_app.terms import term_normalise

from . import parser
from .parser import Dotted, Node, ParsedQuery, query_error
from .parser import Label as LabelNode

CONFIRMED = Q(state=ImageLabelState.CONFIRMED)

LOOKUPS = {
    "=": Exact,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
    "<": LessThan,
    "<=": LessThanOrEqual,
}
COMPARE = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
# name → (unit it needs, what it is)
NUMERIC_ATTRIBUTES = {
    "image.width": ("px", "the image's width in pixels"),
    "image.height": ("px", "the image's height in pixels"),
    "image.num_labels": ("", "how many labels the image has"),
    "image.num_annotations": ("", "how many outlined labels the image has"),
    "image.num_open_annotation_tasks": ("", "how many of its objects still need an outline"),
    "annotation.coverage": ("%", "the share of the image the outlines cover"),
}
OTHER_ATTRIBUTES = ("image.unlabeled", "image.donated", "image.collection")
ATTRIBUTE_OWNERS = {"image", "annotation"}
KNOWN_ATTRIBUTES = (*NUMERIC_ATTRIBUTES, *OTHER_ATTRIBUTES)


@dataclass(frozen=True)
class CompiledQuery:
    """The query as ORM pieces: `images` filters Image rows; `labels` are the label ids the
    query's positive terms stand for (what an export picks shapes and orders by);
    `order_by` orders Image rows (empty: the caller's order)."""

    text: str
    images: Q
    labels: frozenset[int]
    order_by: tuple = ()
    order_key: str = ""  # "", "random" or "validation"
    # Every image `images` matches has a fact for one of `labels`: a label term (or labels
    # or-ed) is the query or one of its top-level and-ed terms. An export then needs no
    # check of its own that a matching image has a fact to export.
    anchored: bool = False
    order_descending: bool = False
    # For keyset pages: the seeded start in [0, 1) of the random order, or the value ordered by.
    random_offset: float = 0.0
    order_value: object = None


@dataclass
class Catalog:
    """The label catalog as lookups (a few hundred rows), kept per process while its
    `catalog_version` stays the same (see `current`)."""

    terms: dict[str, int]
    names: dict[int, str]
    kinds: dict[int, str]
    values: dict[int, list]
    children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    parents: dict[int, int | None] = field(default_factory=dict)
    parts: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def current(cls) -> Catalog:
        """The catalog as it is now: the one this process loaded last while the catalog's
        version is unchanged (one small query instead of three and a rebuild)."""
        global _loaded
        version = catalog_version()
        loaded = _loaded
        if loaded is not None and loaded[0] == version:
            return loaded[1]
        # Loaded after the version was read: a change in between makes the next call reload.
        catalog = cls.load()
        _loaded = (version, catalog)
        return catalog

    @classmethod
    def load(cls) -> Catalog:
        catalog = cls(
            terms=dict(LabelTerm.objects.values_list("term", "label_id")),
            names={},
            kinds={},
            values={},
        )
        for pk, name, kind, values, parent in Label.objects.values_list(
            "pk", "name", "kind", "values", "parent_id"
        ):
            catalog.names[pk], catalog.kinds[pk], catalog.values[pk] = name, kind, values
            catalog.parents[pk] = parent
            if parent is not None:
                catalog.children[parent].append(pk)
        for owner, part in Label.parts.through.objects.values_list("from_label_id", "to_label_id"):
            catalog.parts[owner].add(part)
        for name_pk, name in catalog.names.items():
            catalog.terms.setdefault(term_normalise(name), name_pk)
        return catalog

    def with_descendants(self, pk: int) -> set[int]:
        found, stack = set(), [pk]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.children.get(current, ()))
        return found

    def with_ancestors(self, pk: int) -> set[int]:
        found = set()
        current: int | None = pk
        while current is not None and current not in found:
            found.add(current)
            current = self.parents.get(current)
        return found

    def suggestions(self, text: str) -> list[str]:
        close = difflib.get_close_matches(term_normalise(text), list(self.terms), n=3, cutoff=0.6)
        return list(dict.fromkeys(self.names[self.terms[term]] for term in close))


# (version, catalog) of the last load in this process; threads share it read-only.
_loaded: tuple[tuple, Catalog] | None = None


def _table_stat(rows, **stat) -> Subquery:
    return Subquery(rows.order_by().values(_all=Value(1)).annotate(**stat).values(*stat))


def catalog_version() -> tuple:
    """A cheap fingerprint of what Catalog.load reads, in one query. Labels and terms added or
    deleted change the counts and newest ids (ids are never reused), catalog_sync's updates
    the newest `updated_at`, parts set anew the parts' newest id; a label moved to another
    parent or a term to another label (catalog_sync saves neither with `updated_at`) changes
    a sum weighted by row id. Names never change in place: catalog_sync finds labels by name."""
    terms, parts = LabelTerm.objects.all(), Label.parts.through.objects.all()
    return tuple(
        Label.objects.order_by()
        .values(_all=Value(1))
        .annotate(
            labels=Count("pk"),
            updated=Max("updated_at"),
            parents=Sum(F("pk") * F("parent_id")),
            terms=_table_stat(terms, n=Count("pk")),
            newest_term=_table_stat(terms, n=Max("pk")),
            term_owners=_table_stat(terms, n=Sum(F("pk") * F("label_id"))),
            parts=_table_stat(parts, n=Count("pk")),
            newest_part=_table_stat(parts, n=Max("pk")),
        )
        .values_list(
            "labels",
            "updated",
            "parents",
            "terms",
            "newest_term",
            "term_owners",
            "parts",
            "newest_part",
        )
    )


def image_filter(text: str, *, include_open: bool = False) -> Q:
    """The images a query matches, for pages (see core.image_queries); `include_open` lets
    labels still being validated count as well as confirmed ones."""
    states = [ImageLabelState.CONFIRMED, ImageLabelState.OPEN] if include_open else None
    # An open claim withdrawn by a revert of its maker is no label of the image's any more.
    facts = Q(state__in=states, withdrawn=False) if states else CONFIRMED
    return compile_query(text, facts=facts).images


def compile_query(
    text: str, *, facts: Q = CONFIRMED, seed: int = 0, catalog: Catalog | None = None
) -> CompiledQuery:
    """Parse and compile a query; raises DomainError (code invalid_query, …) on any mistake."""
    parsed = parser.parse_query(text)
    return _Compiler(parsed, facts=facts, catalog=catalog or Catalog.current()).run(seed=seed)


class _Compiler:
    def __init__(self, parsed: ParsedQuery, *, facts: Q, catalog: Catalog):
        self.parsed = parsed
        self.text = parsed.text
        self.facts = facts
        self.catalog = catalog
        self.labels: set[int] = set()

    def run(self, *, seed: int) -> CompiledQuery:
        # First the labels the query asks for (not those under a ~): coverage and order
        # refer to them wherever they are written.
        self.labels = self.wanted(self.parsed.expression, positive=True)
        expression = self.parsed.expression
        images = self.node(expression, joined=True)
        terms = expression.parts if isinstance(expression, parser.And) else (expression,)
        order_by, order_key, order_value = self.order(seed)
        return CompiledQuery(
            text=self.text,
            images=images,
            labels=frozenset(self.labels),
            anchored=any(self.label_set(term) is not None for term in terms),
            order_by=order_by,
            order_key=order_key,
            order_descending=bool(self.parsed.order and self.parsed.order.descending),
            random_offset=random_offset(seed),
            order_value=order_value,
        )

    # -- expressions -------------------------------------------------------------------

    def wanted(self, node: Node, *, positive: bool) -> set[int]:
        if isinstance(node, parser.Or | parser.And):
            return set().union(*(self.wanted(part, positive=positive) for part in node.parts))
        if isinstance(node, parser.Not):
            return self.wanted(node.part, positive=not positive)
        if isinstance(node, Dotted) and not self._is_attribute(node):
            return self.label_ids(node.owner) if positive else set()
        if isinstance(node, LabelNode):
            return self.label_ids(node) if positive else set()
        return set()

    def node(self, node: Node, *, joined: bool = False) -> Q:
        """`joined`: the node is the query or one of its top-level and-ed terms, where
        PostgreSQL joins a subquery of image ids (under ~ or | it probes it for every image:
        only a correlated subquery stays linear there)."""
        if isinstance(node, parser.Or):
            # Label terms or-ed together are one term for all their labels: one look-up
            # PostgreSQL can join on, where one subquery each would make it scan every image.
            label_ids: set[int] = set()
            others = []
            for part in node.parts:
                if isinstance(part, LabelNode):
                    label_ids |= self.label_ids(part)
                else:
                    others.append(self.node(part))
            if label_ids:
                others.append(self._has_fact(label_ids, joined=joined and not others))
            return _combine(Q.__or__, others)
        if isinstance(node, parser.And):
            if joined:
                return self.conjunction(node.parts)
            return _combine(Q.__and__, [self.node(part) for part in node.parts])
        if isinstance(node, parser.Not):
            return ~self.node(node.part)
        if isinstance(node, parser.Uuid):
            raise query_error(
                self.text,
                node.column,
                "An image id is not a query term here; search by labels",
                width=len(node.text),
            )
        if isinstance(node, Dotted):
            if self._is_attribute(node):
                return self.attribute(node, joined=joined)
            return self.accessor(node)
        return self._has_fact(self.label_ids(node), joined=joined)

    def conjunction(self, parts: tuple[Node, ...]) -> Q:
        """The query's top-level and-ed terms. The labels under ~ are one term, `~car &
        ~truck` being `~(car | truck)`; with a label term beside them, they are left out of
        that term's image ids rather than checked against every image: PostgreSQL then
        weighs the anti-join on the fact rows it estimates well, where after the other
        joins its estimate could be a hundred times too low and it would probe the
        excluded labels once per image."""
        driving: set[int] | None = None
        excluded: set[int] = set()
        others = []
        for part in parts:
            negated = self.label_set(part.part) if isinstance(part, parser.Not) else None
            labels = self.label_set(part)
            if negated is not None:
                excluded |= negated
            elif labels is not None and driving is None:
                driving = labels
            else:
                others.append(self.node(part, joined=True))
        if driving is None:
            if excluded:
                others.append(~self._has_fact(excluded))
            return _combine(Q.__and__, others)
        facts = self._facts(driving)
        if excluded:
            facts = facts.exclude(
                Exists(self._facts(excluded).filter(image_id=OuterRef("image_id")))
            )
        return _combine(Q.__and__, [Q(pk__in=facts.values("image_id")), *others])

    def label_set(self, node: Node) -> set[int] | None:
        """The label ids a label term, or labels or-ed, stands for (None: another term)."""
        if isinstance(node, LabelNode):
            return self.label_ids(node)
        if isinstance(node, parser.Or) and all(isinstance(part, LabelNode) for part in node.parts):
            return set().union(*(self.label_ids(part) for part in node.parts))
        return None

    def label_ids(self, node: LabelNode) -> set[int]:
        pk = self.resolve(node.text, node.column)
        return {pk} if node.exact else self.catalog.with_descendants(pk)

    def resolve(self, text: str, column: int) -> int:
        pk = self.catalog.terms.get(term_normalise(text))
        if pk is not None:
            return pk
        close = self.catalog.suggestions(text)
        hint = f"; did you mean {_either(close)}?" if close else "; no label is close to it"
        raise query_error(
            self.text, column, f"Unknown label {text!r}{hint}", width=max(1, len(text))
        )

    def _facts(self, label_ids: set[int]):
        """The facts (by default confirmed image-labels) of the given labels."""
        return ImageLabel.objects.filter(self.facts, label_id__in=label_ids)

    def _has_fact(self, label_ids: set[int], *, joined: bool = False) -> Q:
        facts = self._facts(label_ids)
        if joined:
            # Image ids from the (label, state, image) index, joined: PostgreSQL plans this
            # semi-join from its statistics better than the EXISTS form.
            return Q(pk__in=facts.values("image_id"))
        # Under ~ an anti-join, under | a look-up per image: linear however many images have
        # the labels (NOT IN a subquery too big to hash would compare every pair).
        return Q(Exists(facts.filter(image_id=OuterRef("pk"))))

    # -- accessors and attributes --------------------------------------------------------

    @staticmethod
    def _is_attribute(node: Dotted) -> bool:
        return term_normalise(node.owner.text) in ATTRIBUTE_OWNERS and not node.owner.exact

    def accessor(self, node: Dotted) -> Q:
        owner_ids = self.label_ids(node.owner)
        owner_pk = self.resolve(node.owner.text, node.owner.column)
        if node.comparator != "=" or node.value.kind != "text":
            raise query_error(
                self.text,
                node.value.column,
                f"{node.owner.text}.{node.attribute} takes a quoted value after '=', "
                f"e.g. {node.owner.text}.{node.attribute}='…'",
            )
        attribute = term_normalise(node.attribute)
        if attribute == "has":
            return self._part(node, owner_pk, owner_ids)
        refinement = self.catalog.terms.get(attribute)
        if refinement is None or self.catalog.kinds[refinement] != LabelKind.REFINEMENT:
            refinements = sorted(
                name
                for pk, name in self.catalog.names.items()
                if self.catalog.kinds[pk] == LabelKind.REFINEMENT
            )
            raise query_error(
                self.text,
                node.column + len(node.owner.text) + 1,
                f"{node.attribute!r} is neither 'has' nor a refinement; refinements are "
                f"{', '.join(refinements) or 'not in the catalog yet'}",
                width=len(node.attribute),
            )
        allowed = self.catalog.values[refinement]
        value = term_normalise(node.value.text)
        if value not in allowed:
            raise query_error(
                self.text,
                node.value.column,
                f"{node.value.text!r} is not a {self.catalog.names[refinement]}; use one of "
                f"{', '.join(allowed)}",
                width=len(node.value.text) + 2,
            )
        shapes = ShapeRefinement.objects.filter(
            annotation__image_label__image_id=OuterRef("pk"),
            annotation__image_label__label_id__in=owner_ids,
            refinement_id=refinement,
            value=value,
        )
        return Q(Exists(shapes))

    def _part(self, node: Dotted, owner_pk: int, owner_ids: set[int]) -> Q:
        part = self.resolve(node.value.text, node.value.column + 1)
        family = owner_ids | self.catalog.with_ancestors(owner_pk)
        known_parts = set().union(*(self.catalog.parts.get(pk, set()) for pk in family))
        if part not in known_parts:
            names = sorted(self.catalog.names[pk] for pk in known_parts)
            listed = f"its parts are {', '.join(names)}" if names else "it has no parts"
            raise query_error(
                self.text,
                node.value.column,
                f"{self.catalog.names[part]!r} is not a part of {node.owner.text} in the "
                f"catalog; {listed}",
                width=len(node.value.text) + 2,
            )
        return self._has_fact(owner_ids) & self._has_fact(self.catalog.with_descendants(part))

    def attribute(self, node: Dotted, *, joined: bool) -> Q:
        name = f"{term_normalise(node.owner.text)}.{node.attribute.lower()}"
        if name in NUMERIC_ATTRIBUTES:
            return self.numeric(node, name, joined=joined)
        if name == "image.unlabeled":
            flag = node.value.text.lower() if node.value.kind == "text" else ""
            if node.comparator != "=" or flag not in ("true", "false"):
                raise query_error(
                    self.text,
                    node.value.column,
                    "image.unlabeled is either 'true' or 'false', e.g. image.unlabeled='true'",
                )
            labelled = Exists(ImageLabel.objects.filter(image_id=OuterRef("pk")))
            return ~Q(labelled) if flag == "true" else Q(labelled)
        if name == "image.donated":
            return self._donated(node.comparator, self._date(node))
        if name == "image.collection":
            raise query_error(
                self.text,
                node.column,
                "This site has no image collections, so image.collection cannot filter",
                width=len(name),
            )
        raise query_error(
            self.text,
            node.column,
            f"Unknown attribute {name!r}; known attributes are {', '.join(KNOWN_ATTRIBUTES)}",
            width=len(node.owner.text) + 1 + len(node.attribute),
        )

    @staticmethod
    def _donated(comparator: str, day: date) -> Q:
        """`image.donated` compares the day of `created_at` in the site's time zone, written as
        a range of `created_at` so that its index can answer."""
        start = timezone.make_aware(datetime.combine(day, time.min))
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        return {
            "=": Q(created_at__gte=start, created_at__lt=end),
            ">": Q(created_at__gte=end),
            ">=": Q(created_at__gte=start),
            "<": Q(created_at__lt=start),
            "<=": Q(created_at__lt=end),
        }[comparator]

    def _date(self, node: Dotted) -> date:
        if node.value.kind == "date":
            try:
                day = date.fromisoformat(node.value.text)
            except ValueError:
                pass
            else:
                if date.min < day < date.max:  # the day before and after exist
                    return day
        raise query_error(
            self.text,
            node.value.column,
            f"{node.value.text!r} is not a date; write it as YYYY-MM-DD, "
            "e.g. image.donated > 2026-01-01",
        )

    def numeric(self, node: Dotted, name: str, *, joined: bool) -> Q:
        unit, what = NUMERIC_ATTRIBUTES[name]
        value = node.value
        example = f"{name} > 10{unit}"
        if value.kind != "number":
            raise query_error(
                self.text,
                value.column,
                f"{name} is {what}: compare it with a number, e.g. {example}",
            )
        if value.unit.lower() != unit:
            said = f"the unit {value.unit!r} does not fit" if value.unit else "a unit is missing"
            needs = f"write {value.text}{unit}" if unit else "write a plain number"
            raise query_error(
                self.text,
                value.column,
                f"{name}: {said}; {needs}",
                width=len(value.text) + len(value.unit),
            )
        number = float(value.text)
        if unit != "%" and not number.is_integer():
            raise query_error(
                self.text, value.column, f"{name} counts whole numbers, not {value.text}"
            )
        if unit == "%" and number > 100:
            raise query_error(
                self.text, value.column, f"{name} is a share of the image: at most 100%"
            )
        if name == "annotation.coverage":
            return self._coverage(node.comparator, number / 100, joined=joined)
        return Q(LOOKUPS[node.comparator](self._count(name), int(number)))

    def _count(self, name: str):
        if name == "image.width":
            return F("width")
        if name == "image.height":
            return F("height")
        if name == "image.num_labels":
            rows = ImageLabel.objects.filter(self.facts, image_id=OuterRef("pk"))
        elif name == "image.num_annotations":
            rows = Annotation.objects.filter(image_label__image_id=OuterRef("pk"), hidden=False)
        else:
            rows = ImageLabel.objects.filter(
                self.facts, image_id=OuterRef("pk"), needs_annotation=True
            )
        counted = rows.order_by().values(_group=Value(1)).annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    def _coverage(self, comparator: str, share: float, *, joined: bool) -> Q:
        """The images whose outlines (of the query's labels) cover `comparator` `share` of
        them; an image without outlines covers 0. Joined, when 0 does not match, as the ids of
        the outlined images that do (one grouped scan of the outlines, not a sum per image)."""
        annotations = Annotation.objects.filter(hidden=False)
        if self.labels:
            annotations = annotations.filter(image_label__label_id__in=self.labels)
        annotations = annotations.order_by()
        lookup = LOOKUPS[comparator]
        if joined and not COMPARE[comparator](0.0, share):
            per_image = annotations.values("image_label__image_id").annotate(share=Sum("coverage"))
            covering = per_image.filter(lookup(F("share"), share))
            return Q(pk__in=covering.values("image_label__image_id"))
        covered = (
            annotations.filter(image_label__image_id=OuterRef("pk"))
            .values(_group=Value(1))
            .annotate(share=Sum("coverage"))
            .values("share")
        )
        return Q(lookup(Coalesce(Subquery(covered, output_field=FloatField()), 0.0), share))

    # -- order ---------------------------------------------------------------------------

    def order(self, seed: int) -> tuple[tuple, str, object]:
        order = self.parsed.order
        if order is None:
            return (), "", None
        if order.key == "random":
            # A seeded rotation of the images' stored random keys: the same seed gives the
            # same order, and any window of it is a uniform sample.
            offset = random_offset(seed)
            rotated = Case(
                When(random_key__gte=offset, then=F("random_key") - offset),
                default=F("random_key") + (1.0 - offset),
                output_field=FloatField(),
            )
            return (rotated.asc(), F("pk").asc()), "random", None
        labels = self.labels or None
        facts = ImageLabel.objects.filter(self.facts, image_id=OuterRef("pk"))
        if labels:
            facts = facts.filter(label_id__in=labels)
        best = facts.order_by().values(_group=Value(1)).annotate(p=Max("probability")).values("p")
        confidence = Coalesce(Subquery(best, output_field=FloatField()), 0.0)
        direction = confidence.desc() if order.descending else confidence.asc()
        return (direction, F("pk").asc()), "validation", confidence


def random_offset(seed: int) -> float:
    """Where in [0, 1) the random order of `seed` starts (golden-ratio steps spread seeds)."""
    return (seed * 0.6180339887498949) % 1.0


def _combine(operator, parts: list[Q]) -> Q:
    combined = parts[0]
    for part in parts[1:]:
        combined = operator(combined, part)
    return combined


def _either(names: list[str]) -> str:
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
