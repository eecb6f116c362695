"""URL path converters: ids in paths are checked as strictly as ids anywhere else."""

from .params import MAX_ID_DIGITS, id_or_none


class IdConverter:
    """`<id:pk>`: a positive 64-bit integer. Anything else does not match, so the URL is a 404
    instead of a number the database cannot hold."""

    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        number = id_or_none(value)
        if number is None:
            raise ValueError(f"{value!r} is not an id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)
