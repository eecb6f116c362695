"""Reading a query: text → a small tree of terms (the grammar is grammar.lark).

Every refusal is a DomainError whose message names what was expected and points at the place
with the column and a caret line, e.g.::

    Expected a label, '(', '~' or '=' after '&' (column 7):
    dog & & cat
          ^
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer_NonRecursive, UnexpectedCharacters, UnexpectedToken

from core.errors import DomainError

MAX_QUERY_LENGTH = 2000
MAX_DEPTH = 32

# What a person would call each token of the grammar, for "expected …" messages.
TOKEN_NAMES = {
    "NAME": "a label",
    "STRING": "a quoted label or value",
    "_NOT": "'~'",
    "LPAR": "'('",
    "RPAR": "')'",
    "_EXACT": "'='",
    "UUID": "an image id",
    "_AND": "'&'",
    "_OR": "'|'",
    "_DOT": "'.'",
    "COMPARATOR": "a comparison (=, >, <, >=, <=)",
    "NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "UNIT": "a unit (px or %)",
    "_BANG": "'!'",
    "_ORDER": "'order by'",
    "_BY": "'by'",
    "ORDER_KEY": "'validation' or 'random'",
    "DIRECTION": "'asc' or 'desc'",
    "$END": "the end of the query",
}
# The order "expected" lists are written in, most useful first.
TOKEN_ORDER = list(TOKEN_NAMES)


@dataclass(frozen=True)
class Label:
    """A label term: `dog`, `'traffic light'`, or `=animal` (exact: not its descendants)."""

    text: str
    column: int
    exact: bool = False
    depth: int = 1


@dataclass(frozen=True)
class Value:
    """The right-hand side of a comparison: quoted text, a number with its unit, or a date."""

    kind: str  # "text" | "number" | "date"
    text: str
    column: int
    unit: str = ""


@dataclass(frozen=True)
class Dotted:
    """`owner.attribute <comparator> value`: an accessor (`dog.has='mouth'`,
    `car.colour='red'`) or an attribute (`image.width > 800px`); the compiler tells which."""

    owner: Label
    attribute: str
    comparator: str
    value: Value
    column: int
    depth: int = 1


@dataclass(frozen=True)
class Uuid:
    text: str
    column: int
    depth: int = 1


@dataclass(frozen=True)
class Not:
    part: Node
    depth: int


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]
    depth: int


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]
    depth: int


Node = Label | Dotted | Uuid | Not | And | Or


@dataclass(frozen=True)
class Order:
    key: str  # "validation" | "random"
    descending: bool


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    expression: Node
    order: Order | None


def query_error(text: str, column: int, message: str, *, width: int = 1) -> DomainError:
    """A refusal that points at `column` (1-based) of the query with a caret line."""
    caret = " " * (column - 1) + "^" * max(1, width)
    return DomainError(
        f"{message} (column {column}):\n{text}\n{caret}",
        code="invalid_query",
        column=column,
    )


class _ToNodes(Transformer_NonRecursive):
    """Lark's tree → the node classes above; same-operator chains are flattened so a long
    `a & b & c …` is one node, and every node knows how deep it nests."""

    def start(self, children):
        return children[0], (children[1] if len(children) > 1 else None)

    def label(self, children):
        token = children[0]
        text = token.value[1:-1] if token.type == "STRING" else token.value
        return Label(text=text.strip(), column=token.column)

    def exact(self, children):
        (label,) = children
        return Label(text=label.text, column=label.column - 1, exact=True)

    def group(self, children):
        inner = children[1]
        return _with_depth(inner, inner.depth + 1)

    def not_(self, children):
        (part,) = children
        return Not(part=part, depth=part.depth + 1)

    def and_(self, children):
        return _flat(And, children)

    def or_(self, children):
        return _flat(Or, children)

    def dotted(self, children):
        owner, attribute, comparator, value = children
        return Dotted(
            owner=owner,
            attribute=attribute.value,
            comparator=comparator.value,
            value=value,
            column=owner.column,
        )

    def uuid(self, children):
        return Uuid(text=children[0].value, column=children[0].column)

    def text(self, children):
        token = children[0]
        return Value(kind="text", text=token.value[1:-1], column=token.column)

    def number(self, children):
        number = children[0]
        unit = children[1].value if len(children) > 1 else ""
        return Value(kind="number", text=number.value, unit=unit, column=number.column)

    def date(self, children):
        return Value(kind="date", text=children[0].value, column=children[0].column)

    def order(self, children):
        key = children[0].value.lower()
        direction = children[1].value.lower() if len(children) > 1 else "desc"
        return Order(key=key, descending=direction == "desc")


def _flat(kind, children) -> And | Or:
    parts: list = []
    for child in children:
        parts.extend(child.parts if isinstance(child, kind) else [child])
    return kind(parts=tuple(parts), depth=1 + max(part.depth for part in parts))


def _with_depth(node, depth: int):
    return replace(node, depth=max(node.depth, depth))


@cache
def _lark() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


def _expected(names) -> str:
    known = sorted((n for n in set(names) if n in TOKEN_NAMES), key=TOKEN_ORDER.index)
    words = [TOKEN_NAMES[n] for n in known]
    if len(words) <= 1:
        return words[0] if words else "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]


def parse_query(text: str) -> ParsedQuery:
    """Parse a query, or raise a DomainError that says what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise DomainError("The query is empty: write a label, e.g. dog.", code="invalid_query")
    if len(text) > MAX_QUERY_LENGTH:
        raise DomainError(
            f"The query is {len(text):,} characters long; at most {MAX_QUERY_LENGTH:,} are "
            "accepted.",
            code="query_too_long",
        )
    try:
        tree = _lark().parse(text)
    except UnexpectedToken as error:
        raise _token_error(text, error) from None
    except UnexpectedCharacters as error:
        raise query_error(
            text,
            error.column,
            f"{text[error.pos_in_stream]!r} cannot be read here; expected "
            f"{_expected(error.allowed)} (quote labels with digits or hyphens: 't-shirt')",
        ) from None
    expression, order = _ToNodes().transform(tree)
    if expression.depth > MAX_DEPTH:
        raise DomainError(
            f"The query nests {expression.depth} levels deep; at most {MAX_DEPTH} are accepted.",
            code="query_too_deep",
        )
    return ParsedQuery(text=text, expression=expression, order=order)


def _token_error(text: str, error: UnexpectedToken) -> DomainError:
    token: Token = error.token
    accepted = error.interactive_parser.accepts() if error.interactive_parser else error.expected
    expected = _expected(accepted)
    if token.type == "$END":
        before = text.rstrip()
        return query_error(text, len(before) + 1, f"The query ends too early: expected {expected}")
    previous = _previous_token(text, token)
    after = f" after {previous!r}" if previous else ""
    return query_error(
        text,
        token.column,
        f"Unexpected {token.value!r}: expected {expected}{after}",
        width=len(token.value),
    )


def _previous_token(text: str, token: Token) -> str:
    """The token just before `token`, for "after '&'" in messages."""
    previous = ""
    try:
        for candidate in _lark().lex(text[: token.start_pos], dont_ignore=False):
            previous = candidate.value
    except UnexpectedCharacters:
        return ""
    return previous
