import random
import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from contributors.models import Contributor
from core.errors import DomainError
from core.events import activity_announce, decision_announce
from donations.models import Image, ImageStatus

from .catalog_files import CatalogEntry
from .models import (
    ImageLabel,
    Label,
    LabelKind,
    LabellingVisit,
    LabelOrigin,
    LabelSuggestion,
    LabelSuggestionUse,
    LabelTerm,
    SuggestionState,
    TermKind,
    random_key,
)
from .terms import term_normalise, term_singular


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated or self.reactivated)


@transaction.atomic
def catalog_sync(*, entries: list[CatalogEntry]) -> SyncReport:
    """Make the Label table match the catalog; labels that left it are deactivated, not deleted."""
    report = SyncReport()
    existing = {label.name: label for label in Label.objects.select_for_update()}
    taken_over = {"origin": LabelOrigin.CATALOG}
    now = timezone.now()
    labels: dict[str, Label] = {}
    for entry in entries:
        wanted = {
            "plural": entry.plural,
            "description": entry.description,
            "kind": entry.kind,
            "group": entry.group,
            "values": list(entry.values),
            "question": entry.question,
            "applies_to": list(entry.applies_to),
            **taken_over,
        }
        label = existing.get(entry.name)
        if label is None:
            label = Label.objects.create(name=entry.name, **wanted)
            report.created.append(entry.name)
        else:
            changed = [key for key, value in wanted.items() if getattr(label, key) != value]
            if not label.active:
                report.reactivated.append(entry.name)
                label.active = True
                changed.append("active")
            elif changed:
                report.updated.append(entry.name)
            if changed:
                for key in changed:
                    setattr(label, key, wanted.get(key, True))
                label.updated_at = now
                label.save(update_fields=[*changed, "updated_at"])
        labels[entry.name] = label

    for entry in entries:
        label = labels[entry.name]
        parent = labels[entry.parent] if entry.parent else None
        if label.parent_id != (parent.pk if parent else None):
            label.parent = parent
            label.save(update_fields=["parent"])
            if entry.name not in report.created and entry.name not in report.updated:
                report.updated.append(entry.name)
        wanted_parts = {labels[name].pk for name in entry.has}
        current_parts = set(label.parts.values_list("pk", flat=True))
        if wanted_parts != current_parts:
            label.parts.set(wanted_parts)
            if entry.name not in report.created and entry.name not in report.updated:
                report.updated.append(entry.name)

    gone = [
        label
        for name, label in existing.items()
        if name not in labels and label.active and label.origin == LabelOrigin.CATALOG
    ]
    for label in gone:
        label.active = False
        label.updated_at = now
        label.save(update_fields=["active", "updated_at"])
        report.deactivated.append(label.name)

    _terms_rebuild(entries=entries, labels=labels)
    return report


def _terms_rebuild(*, entries: list[CatalogEntry], labels: dict[str, Label]) -> None:
    wanted: dict[str, tuple[int, str, str]] = {}
    for entry in entries:
        pk = labels[entry.name].pk
        for kind, words in (
            (TermKind.NAME, [entry.name]),
            (TermKind.PLURAL, [entry.plural]),
            (TermKind.ALIAS, entry.aliases),
        ):
            for word in words:
                wanted.setdefault(term_normalise(word), (pk, word, kind))
    # Aliases accepted from suggestions stay unless the catalog now defines the same word.
    LabelTerm.objects.filter(from_catalog=False, term__in=wanted).delete()
    current = {t.term: t for t in LabelTerm.objects.filter(from_catalog=True)}
    LabelTerm.objects.filter(from_catalog=True).exclude(term__in=wanted).delete()
    for term, (pk, display, kind) in wanted.items():
        row = current.get(term)
        if row is None:
            LabelTerm.objects.create(term=term, label_id=pk, display=display, kind=kind)
        elif (row.label_id, row.display, row.kind) != (pk, display, kind):
            row.label_id, row.display, row.kind = pk, display, kind
            row.save(update_fields=["label", "display", "kind"])


# --- Labelling -------------------------------------------------------------------------------

MAX_LABEL_LENGTH = 64
MAX_LABELS_PER_REQUEST = 20


@dataclass
class LabellingResult:
    added: list[ImageLabel] = field(default_factory=list)
    already_there: list[ImageLabel] = field(default_factory=list)
    suggested: list[LabelSuggestion] = field(default_factory=list)


def label_texts_clean(texts: list[str]) -> list[str]:
    """The label words, trimmed; a DomainError names the first unusable one."""
    if not texts:
        raise DomainError("Add at least one label.", code="no_labels")
    if len(texts) > MAX_LABELS_PER_REQUEST:
        raise DomainError(
            f"At most {MAX_LABELS_PER_REQUEST} labels can be added at once.", code="too_many"
        )
    cleaned = []
    for text in texts:
        if not isinstance(text, str) or not term_normalise(text):
            raise DomainError("A label cannot be empty.", code="empty_label")
        if len(text) > MAX_LABEL_LENGTH:
            raise DomainError(
                f"A label is at most {MAX_LABEL_LENGTH} characters; “{text[:20]}…” is {len(text)}.",
                code="label_too_long",
            )
        if any(unicodedata.category(char).startswith("C") for char in text):
            raise DomainError("A label cannot contain control characters.", code="invalid_label")
        cleaned.append(" ".join(text.split()))
    return cleaned


def image_label_attach(*, image: Image, label: Label, contributor: Contributor) -> tuple:
    """The ImageLabel for (image, label), created if new and queued if the image is public."""
    key = random_key()
    image_label, created = ImageLabel.objects.get_or_create(
        image=image,
        label=label,
        defaults={
            "added_by": contributor,
            "random_key": key,
            "sort_key": key,
            "in_queue": image.is_public,
        },
    )
    if created:
        Image.objects.filter(pk=image.pk).update(label_count=F("label_count") + 1)
    return image_label, created


def _suggestion_record(*, text: str, image: Image, contributor: Contributor):
    term = term_singular(term_normalise(text))
    suggestion, _ = LabelSuggestion.objects.get_or_create(term=term, defaults={"text": text})
    _, new_use = LabelSuggestionUse.objects.get_or_create(
        suggestion=suggestion, image=image, defaults={"contributor": contributor}
    )
    if new_use:
        LabelSuggestion.objects.filter(pk=suggestion.pk).update(use_count=F("use_count") + 1)
    return suggestion


def _labellable(image: Image, contributor: Contributor) -> None:
    if image.is_public:
        return
    if image.status == ImageStatus.PENDING and image.donor_id == contributor.pk:
        return  # Donors may label their own photos while they wait for review.
    raise DomainError("This image is not open for labelling.", code="not_labellable", status=409)


@transaction.atomic
def labels_add(*, contributor: Contributor, image: Image, texts: list[str]) -> LabellingResult:
    """Add what a contributor sees in an image: catalog words become image-labels (open for
    validation), anything else becomes a counted label suggestion."""
    _labellable(image, contributor)
    result = LabellingResult()
    seen: set[str] = set()
    for text in label_texts_clean(texts):
        normal = term_normalise(text)
        if normal in seen:
            continue
        seen.add(normal)
        term = (
            LabelTerm.objects.select_related("label")
            .filter(term=normal, label__active=True)
            .exclude(label__kind=LabelKind.REFINEMENT)
            .first()
        )
        label = term.label if term else None
        if label is None:
            suggestion = _suggestion_record(text=text, image=image, contributor=contributor)
            if suggestion.state == SuggestionState.ACCEPTED and suggestion.label_id:
                label = suggestion.label
            else:
                result.suggested.append(suggestion)
                continue
        image_label, created = image_label_attach(image=image, label=label, contributor=contributor)
        (result.added if created else result.already_there).append(image_label)
    _visit(contributor=contributor, image=image, skipped=False)
    if result.added:
        activity_announce(kind="labelled", label_id=result.added[0].label_id)
    return result


def _visit(*, contributor: Contributor, image: Image, skipped: bool) -> None:
    visit, created = LabellingVisit.objects.get_or_create(
        contributor=contributor, image=image, defaults={"skipped": skipped}
    )
    if not created and visit.skipped and not skipped:
        LabellingVisit.objects.filter(pk=visit.pk).update(skipped=False)


def labelling_skip(*, contributor: Contributor, image: Image) -> None:
    """Remember that the contributor passed on this image; it is not offered to them again."""
    _visit(contributor=contributor, image=image, skipped=True)


def next_labelling_task(*, contributor: Contributor | None, rng=random) -> Image | None:
    """A public image needing labels: fewest labels first, from a random point, not one this
    contributor already labelled or skipped. Three index-backed queries at most."""
    queue = Image.objects.public()
    if contributor is not None:
        visited = LabellingVisit.objects.filter(image=OuterRef("pk"), contributor=contributor)
        queue = queue.filter(~Exists(visited))
    fewest = Image.objects.public().order_by("label_count").values_list("label_count", flat=True)
    minimum = fewest.first()
    if minimum is None:
        return None
    start = rng.random()
    image = queue.filter(label_count=minimum, random_key__gte=start).order_by("random_key").first()
    return image or queue.order_by("label_count", "random_key").first()


# --- Suggestions -----------------------------------------------------------------------------


@transaction.atomic
def suggestion_accept(
    *, suggestion: LabelSuggestion, moderator, alias_of: Label | None = None
) -> Label:
    """Accept a suggestion into the catalog, as a new label or as an alias of `alias_of`, and
    attach it to every image it was used on."""
    suggestion = LabelSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.state == SuggestionState.ACCEPTED:
        raise DomainError(
            "This suggestion was already accepted.", code="already_decided", status=409
        )
    if LabelTerm.objects.filter(term=suggestion.term).exclude(label=alias_of).exists():
        raise DomainError(
            f"“{suggestion.term}” already means a catalog label.", code="term_taken", status=409
        )
    if alias_of is None:
        label = Label.objects.create(
            name=suggestion.term,
            plural=suggestion.term if suggestion.term.endswith("s") else f"{suggestion.term}s",
            description=f"Suggested by contributors as “{suggestion.text}”.",
            kind=LabelKind.OBJECT,
            group="suggestions",
            origin=LabelOrigin.SUGGESTION,
        )
        term_kind = TermKind.NAME
    else:
        label = alias_of
        term_kind = TermKind.ALIAS
    LabelTerm.objects.get_or_create(
        term=suggestion.term,
        defaults={
            "label": label,
            "display": suggestion.text,
            "kind": term_kind,
            "from_catalog": False,
        },
    )
    for use in suggestion.uses.select_related("image", "contributor"):
        image_label_attach(image=use.image, label=label, contributor=use.contributor)
    suggestion.state = SuggestionState.ACCEPTED
    suggestion.label = label
    suggestion.decided_by = moderator
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["state", "label", "decided_by", "decided_at"])
    decision_announce(
        actor=moderator,
        kind="suggestion",
        target=suggestion,
        reason=f"Accepted as {'an alias of ' if alias_of else 'the new label '}{label.name}.",
        before={"state": SuggestionState.OPEN},
        after={"state": SuggestionState.ACCEPTED, "label": label.name},
    )
    return label


def suggestion_reject(*, suggestion: LabelSuggestion, moderator) -> None:
    rejected = LabelSuggestion.objects.filter(pk=suggestion.pk, state=SuggestionState.OPEN).update(
        state=SuggestionState.REJECTED, decided_by=moderator, decided_at=timezone.now()
    )
    if rejected:
        decision_announce(
            actor=moderator,
            kind="suggestion",
            target=suggestion,
            reason="Rejected.",
            before={"state": SuggestionState.OPEN},
            after={"state": SuggestionState.REJECTED},
        )


@transaction.atomic
def image_labels_withdraw(*, image_label_ids: list[int]) -> list[dict]:
    """Take claims out of every queue and listing (a revert of the one who made them); returns
    what each was, for the undo. Claims already withdrawn are left alone."""
    rows = list(
        ImageLabel.objects.select_for_update()
        .filter(pk__in=image_label_ids, withdrawn=False)
        .values("pk", "in_queue", "needs_annotation")
    )
    ImageLabel.objects.filter(pk__in=[row["pk"] for row in rows]).update(
        withdrawn=True, in_queue=False, needs_annotation=False
    )
    return rows


@transaction.atomic
def image_labels_reinstate(*, rows: list[dict]) -> int:
    """Undo image_labels_withdraw: each claim as it was."""
    for row in rows:
        ImageLabel.objects.filter(pk=row["pk"], withdrawn=True).update(
            withdrawn=False, in_queue=row["in_queue"], needs_annotation=row["needs_annotation"]
        )
    return len(rows)
