"""Parsing what requests carry: one validated path for each kind of value.

Every id, list of ids and date that arrives in a URL, a query string or a form goes through
here, so an integer beyond the database's range or a date that cannot exist in UTC is a 400
that names the parameter, never a database error. API bodies get the same rules through the
fields in `core.api.fields`.
"""

from datetime import UTC, datetime

from core.errors import DomainError

# The largest value a BigAutoField (64-bit signed) column holds.
MAX_ID = 2**63 - 1
MAX_ID_DIGITS = len(str(MAX_ID))


def id_or_none(raw: object) -> int | None:
    """The id `raw` spells (digits, 1..MAX_ID), or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip() if raw is not None else ""
        if not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
            return None
        value = int(text)
    return value if 1 <= value <= MAX_ID else None


def id_value(raw: object, *, name: str) -> int:
    """An id from a request, or a DomainError naming the parameter."""
    value = id_or_none(raw)
    if value is None:
        raise DomainError(
            f"{name} must be an id: a whole number from 1 to {MAX_ID}.",
            code=f"invalid_{name}",
        )
    return value


def count_value(raw: str | None, *, name: str, high: int, default: int) -> int:
    """A count from 1 to `high` (`default` when absent), or a DomainError naming the range."""
    if raw is None:
        return default
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else 0
    if not 1 <= value <= high:
        raise DomainError(f"{name} must be between 1 and {high}.", code=f"invalid_{name}")
    return value


def id_list_pattern(limit: int) -> str:
    """`id_list`'s rule as a JSON-schema pattern for the API documentation (ids of up to 18
    digits, so the pattern alone cannot reach past the 64-bit range)."""
    return rf"^([1-9][0-9]{{0,17}}(,[1-9][0-9]{{0,17}}){{0,{limit - 1}}})?$"


def id_list(raw: str | None, *, name: str, limit: int) -> tuple[int, ...]:
    """Comma-separated ids (at most `limit`), e.g. `?exclude=4,7`; empty parts are ignored."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if len(parts) > limit:
        raise DomainError(f"{name} takes at most {limit} ids.", code=f"invalid_{name}")
    values = []
    for part in parts:
        value = id_or_none(part)
        if value is None:
            raise DomainError(
                f"{name} must be comma-separated ids (whole numbers from 1 to {MAX_ID}).",
                code=f"invalid_{name}",
            )
        values.append(value)
    return tuple(values)


def aware_datetime_or_none(raw: str | None) -> datetime | None:
    """An ISO 8601 date-time with a time zone that exists in UTC, or None.

    A date alone means midnight UTC. Times near the ends of the calendar (year 1, year 9999)
    can overflow when converted to UTC; those are refused here instead of in the database.
    """
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    # In a query string "+" decodes to a space: "…T12:00:00+02:00" arrives as "…T12:00:00 02:00".
    text = text[:11] + text[11:].replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        if len(text) > 10:  # a time without a zone is ambiguous
            return None
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def aware_datetime(raw: str | None, *, name: str) -> datetime:
    """An aware date-time from a request, or a DomainError naming the parameter."""
    moment = aware_datetime_or_none(raw)
    if moment is None:
        raise DomainError(
            f"{name} must be an ISO 8601 date or date-time with a time zone, e.g. "
            "2026-01-31 or 2026-01-31T12:00:00Z.",
            code=f"invalid_{name}",
        )
    return moment
