"""Reading and checking the label catalog files (labels_app/catalog/*.json).

Pure file work: every problem is reported with its file and field, all at once, so a
contributor can fix a pull request in one go.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .models import LabelKind
from .terms import term_normalise

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9 '\-]{0,63}$")
FILE_KEYS = {"group", "labels"}
REQUIRED_KEYS = {"name", "plural", "description"}
OPTIONAL_KEYS = {"kind", "parent", "has", "aliases", "values", "question", "applies_to"}
REFINEMENT_ONLY_KEYS = ("values", "question", "applies_to")
MAX_DESCRIPTION = 300
MAX_QUESTION = 120
# "applies_to" names catalog groups (files), object labels (with everything under them) or "*".
EVERY_OBJECT = "*"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    plural: str
    description: str
    kind: str
    group: str
    source: str
    parent: str | None = None
    has: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    question: str = ""
    applies_to: tuple[str, ...] = ()


class CatalogError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _string_list(value, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        problems.append(f"{where}: must be a list of non-empty strings")
        return ()
    return tuple(value)


def _entry(raw, *, where: str, group: str, source: str, problems: list[str]):
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object")
        return None
    unknown = set(raw) - REQUIRED_KEYS - OPTIONAL_KEYS
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in sorted(REQUIRED_KEYS - set(raw)):
        problems.append(f"{where}.{key}: is required")
    for key in sorted(REQUIRED_KEYS & set(raw)):
        if not isinstance(raw[key], str) or not raw[key].strip():
            problems.append(f"{where}.{key}: must be a non-empty string")
    if any(p.startswith(where) for p in problems):
        return None
    name = raw["name"]
    if not NAME_PATTERN.match(name):
        problems.append(
            f"{where}.name: {name!r} must be lowercase letters, digits, spaces, - or ' "
            "(at most 64 characters)"
        )
    if len(raw["description"]) > MAX_DESCRIPTION:
        problems.append(f"{where}.description: longer than {MAX_DESCRIPTION} characters")
    kind = raw.get("kind", LabelKind.OBJECT)
    if kind not in LabelKind.values:
        problems.append(f"{where}.kind: {kind!r} is not one of {', '.join(LabelKind.values)}")
    values = _string_list(raw.get("values"), f"{where}.values", problems)
    question = raw.get("question", "")
    applies_to = _string_list(raw.get("applies_to"), f"{where}.applies_to", problems)
    if kind == LabelKind.REFINEMENT:
        if not values:
            problems.append(f"{where}.values: a refinement needs its list of values")
        if not isinstance(question, str) or question.count("{label}") != 1:
            problems.append(
                f"{where}.question: a refinement needs a question with one {{label}}, "
                "e.g. 'What colour is this {label}?'"
            )
            question = ""
        elif len(question) > MAX_QUESTION or re.search(r"\{(?!label\})", question):
            problems.append(
                f"{where}.question: at most {MAX_QUESTION} characters and no placeholder "
                "other than {label}"
            )
        if not applies_to:
            problems.append(
                f"{where}.applies_to: name the groups or labels this refinement describes "
                f"({EVERY_OBJECT!r} for every object)"
            )
    else:
        for key in REFINEMENT_ONLY_KEYS:
            if key in raw:
                problems.append(f"{where}.{key}: only refinements have {key.replace('_', ' ')}")
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(f"{where}.parent: must be a label name")
        parent = None
    return CatalogEntry(
        name=name,
        plural=raw["plural"],
        description=raw["description"].strip(),
        kind=kind,
        group=group,
        source=source,
        parent=parent,
        has=_string_list(raw.get("has"), f"{where}.has", problems),
        aliases=_string_list(raw.get("aliases"), f"{where}.aliases", problems),
        values=values,
        question=question if isinstance(question, str) else "",
        applies_to=applies_to,
    )


def catalog_read(directory: Path = CATALOG_DIR) -> list[CatalogEntry]:
    """All catalog entries, checked file by file and then across files."""
    problems: list[str] = []
    entries: list[CatalogEntry] = []
    files = sorted(directory.glob("*.json"))
    if not files:
        raise CatalogError([f"{directory}: no catalog files (*.json) found"])
    for path in files:
        source = path.name
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{source}: not valid JSON ({error})")
            continue
        if not isinstance(document, dict) or not isinstance(document.get("labels"), list):
            problems.append(f"{source}: must be an object with a 'labels' list")
            continue
        unknown = set(document) - FILE_KEYS
        if unknown:
            problems.append(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
        group = document.get("group") or path.stem
        for index, raw in enumerate(document["labels"]):
            where = f"{source}: labels[{index}]"
            entry = _entry(raw, where=where, group=group, source=source, problems=problems)
            if entry is not None:
                entries.append(entry)
    _check_across_files(entries, problems)
    if problems:
        raise CatalogError(problems)
    return entries


def _check_across_files(entries: list[CatalogEntry], problems: list[str]) -> None:
    by_name = {}
    owners: dict[str, str] = {}
    for entry in entries:
        where = f"{entry.source}: {entry.name}"
        if entry.name in by_name:
            problems.append(f"{where}.name: also defined in {by_name[entry.name].source}")
            continue
        by_name[entry.name] = entry
        for term in {term_normalise(t) for t in (entry.name, entry.plural, *entry.aliases)}:
            if term in owners and owners[term] != entry.name:
                problems.append(f"{where}.aliases: {term!r} already means {owners[term]!r}")
            owners[term] = entry.name
    for entry in by_name.values():
        where = f"{entry.source}: {entry.name}"
        if entry.parent is not None:
            parent = by_name.get(entry.parent)
            if parent is None:
                problems.append(f"{where}.parent: unknown label {entry.parent!r}")
            elif parent.kind != entry.kind:
                problems.append(f"{where}.parent: {entry.parent!r} is a {parent.kind}")
        for part in entry.has:
            if part not in by_name:
                problems.append(f"{where}.has: unknown label {part!r}")
            elif part == entry.name:
                problems.append(f"{where}.has: a label cannot be its own part")
    groups = {entry.group for entry in entries}
    for entry in by_name.values():
        for target in entry.applies_to:
            known = by_name.get(target)
            if target == EVERY_OBJECT or (target in groups and target != entry.group):
                continue
            if known is None:
                problems.append(
                    f"{entry.source}: {entry.name}.applies_to: {target!r} is neither a catalog "
                    "group nor a label"
                )
            elif known.kind != LabelKind.OBJECT:
                problems.append(
                    f"{entry.source}: {entry.name}.applies_to: {target!r} is a {known.kind}, "
                    "not an object"
                )
    for entry in by_name.values():
        seen = {entry.name}
        current = by_name.get(entry.parent) if entry.parent else None
        while current is not None:
            if current.name in seen:
                problems.append(f"{entry.source}: {entry.name}.parent: the hierarchy loops")
                break
            seen.add(current.name)
            current = by_name.get(current.parent) if current.parent else None
