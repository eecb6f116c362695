"""How label words are compared: one normal form for names, plurals, aliases and free text."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s_\-]+")


def term_normalise(text: str) -> str:
    """Lowercase, Unicode-normalised, with spaces/underscores/hyphens folded to single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SEPARATORS.sub(" ", text).strip()


def term_singular(term: str) -> str:
    """A best-effort English singular, so 'dogs' and 'dog' count as one suggestion."""
    words = term.split(" ")
    last = words[-1]
    if len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 4 and last.endswith(("ches", "shes", "sses", "xes", "zes")):
        last = last[:-2]
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return " ".join([*words[:-1], last])
