import random
import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, Value, When
from django.utils import timezone

from contributors.models import Contributor
from core.errors import DomainError
from core.events import activity_announce, announce, decision_announce
from core.params import id_or_none
from core.sampling import neediest_first, random_first
from donations.models import Image
from donations.querysets import public_q
from labels_app.models import ImageLabel, Label, LabelKind, random_key
from trust.evidence import evidence_update
from trust.recounts import PROGRESS_EVERY
from trust.served import task_served_check, tasks_serve
from trust.services import (
    JudgementResult,
    counts_votes,
    gold_answer_record,
    gold_due,
    judgement_weight,
    judgements_to_recount,
)

from .models import (
    Annotation,
    AnnotationRevision,
    AnnotationTaskMark,
    AnnotationVote,
    Lease,
    QuestionState,
    RefinementAnswer,
    RefinementQuestion,
    ReviewAnswer,
    ReviewState,
    ShapeRefinement,
    TaskMarkKind,
)
from .shapes import shapes_clean, shapes_coverage

LEASE_ATTEMPTS = 3
# What trust.served calls the tasks of this app that are handed out and then judged.
REVIEW_KIND = "review"
QUIZ_KIND = "quiz"


def refinement_values() -> dict[str, list[str]]:
    """Refinement names from the catalog with their allowed values."""
    return dict(
        Label.objects.active().filter(kind=LabelKind.REFINEMENT).values_list("name", "values")
    )


def refinement_choices(label: Label) -> list[dict]:
    """The refinements the editor offers for shapes of this label (catalog `applies_to`)."""
    return [
        {"name": kind.name, "values": kind.values} for kind in Label.objects.refinements_for(label)
    ]


def _lease_duration() -> timedelta:
    return timedelta(seconds=settings.ANNOTATION_LEASE_SECONDS)


def _open_tasks(contributor: Contributor, label: Label | None):
    now = timezone.now()
    leased = Lease.objects.filter(image_label=OuterRef("pk"), expires_at__gt=now)
    marked = AnnotationTaskMark.objects.filter(image_label=OuterRef("pk"), contributor=contributor)
    tasks = ImageLabel.objects.filter(
        public_q("image__"), needs_annotation=True, annotation__isnull=True
    ).filter(~Exists(leased), ~Exists(marked))
    return tasks.filter(label=label) if label is not None else tasks


def _claim(*, image_label: ImageLabel, contributor: Contributor) -> Lease | None:
    """Create the lease row for a task, replacing an expired one; None if someone holds it."""
    now = timezone.now()
    Lease.objects.filter(image_label=image_label, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            return Lease.objects.create(
                image_label=image_label, contributor=contributor, expires_at=now + _lease_duration()
            )
    except IntegrityError:
        return None  # another process leased it between our read and our insert


@transaction.atomic
def annotation_task_lease(
    *, contributor: Contributor, label: Label | None = None, rng=random
) -> Lease | None:
    """Lease the next annotation task: a confirmed object on a public image without an
    annotation, not passed by this contributor and not leased by anyone else.

    Candidate rows are locked with SKIP LOCKED and the lease row is unique per task, so two
    requests — in any number of server processes — never get the same task. A contributor who
    already holds a live lease gets it back instead of a second one.
    """
    # Most requests hold no lease (the last task was done or passed): one index probe says so.
    held = Lease.objects.filter(contributor=contributor).only("pk", "expires_at").first()
    if held is not None:
        if held.is_active:
            current = (
                Lease.objects.select_related("image_label__image", "image_label__label")
                .filter(pk=held.pk, image_label__annotation__isnull=True)
                .first()
            )
            if current is not None and (label is None or current.image_label.label_id == label.pk):
                return current
        _release_other_leases(contributor)
    for _ in range(LEASE_ATTEMPTS):
        # Image and label come along for the task's description; only the task row is locked.
        # (Not the label's parent: one more join costs this hot query more planning time than
        # the small lookup the refinement list makes for it.)
        tasks = (
            _open_tasks(contributor, label)
            .select_related("image", "label")
            .select_for_update(skip_locked=True, of=("self",))
        )
        candidate = random_first(tasks, rng=rng)
        if candidate is None:
            return None
        lease = _claim(image_label=candidate, contributor=contributor)
        if lease is not None:
            return lease
    return None


@transaction.atomic
def annotation_task_lease_for(*, contributor: Contributor, image: Image, label_name: str) -> Lease:
    """Browse mode: lease the task for one chosen image and label."""
    if not image.is_public:
        raise DomainError(
            "This image is not public, so it cannot be annotated.",
            code="image_not_public",
            status=409,
        )
    image_label = (
        ImageLabel.objects.select_for_update()
        .select_related("label")
        .filter(image=image, label__name=label_name.strip().lower()[:64])
        .first()
    )
    if image_label is None:
        raise DomainError(
            f"This image has no label {label_name[:64]!r}; add it on the labelling task first.",
            code="label_not_on_image",
        )
    if hasattr(image_label, "annotation"):
        raise DomainError(
            "This object is already annotated; open the annotation to improve it.",
            code="already_annotated",
            status=409,
        )
    if not image_label.needs_annotation:
        raise DomainError(
            "This object does not need an outline (it is not confirmed yet, or was retired).",
            code="not_an_annotation_task",
            status=409,
        )
    taken = DomainError(
        "Someone else is annotating this right now; try again in a few minutes.",
        code="leased",
        status=409,
    )
    lease = Lease.objects.filter(image_label=image_label, expires_at__gt=timezone.now()).first()
    if lease is not None and lease.contributor_id != contributor.pk:
        raise taken
    if lease is None:
        _release_other_leases(contributor)
        lease = _claim(image_label=image_label, contributor=contributor)
    if lease is None:
        raise taken
    return lease


def _release_other_leases(contributor: Contributor) -> None:
    """One task at a time: taking a new one gives back any other the contributor holds."""
    Lease.objects.filter(contributor=contributor).delete()


def _held_lease(*, contributor: Contributor, lease_id) -> Lease:
    try:
        lease_uuid = uuid.UUID(str(lease_id))
    except ValueError:
        lease_uuid = None
    lease = (
        Lease.objects.select_for_update()
        .select_related("image_label__image", "image_label__label")
        .filter(pk=lease_uuid)
        .first()
        if lease_uuid
        else None
    )
    if lease is None:
        raise DomainError(
            "There is no such lease (it may have been released); take a new task.",
            code="no_lease",
            status=404,
        )
    if lease.contributor_id != contributor.pk:
        raise DomainError(
            "This task is leased to someone else.", code="lease_not_yours", status=409
        )
    if not lease.is_active:
        raise DomainError(
            "Your lease on this task expired; take a new task.", code="lease_expired", status=409
        )
    return lease


@transaction.atomic
def annotation_lease_renew(*, contributor: Contributor, lease_id) -> Lease:
    """Keep a task while the editor is open."""
    lease = _held_lease(contributor=contributor, lease_id=lease_id)
    lease.expires_at = timezone.now() + _lease_duration()
    lease.save(update_fields=["expires_at"])
    return lease


@transaction.atomic
def annotation_submit(*, contributor: Contributor, lease_id, shapes) -> Annotation:
    """Store the first annotation of a leased task (revision 1) and release the lease."""
    lease = _held_lease(contributor=contributor, lease_id=lease_id)
    image_label = lease.image_label
    if not image_label.image.is_public:
        raise DomainError("This image is no longer public.", code="image_not_public", status=409)
    cleaned = shapes_clean(shapes, refinements=refinement_values())
    try:
        with transaction.atomic():
            key = random_key()
            annotation = Annotation.objects.create(
                image_label=image_label,
                shapes=cleaned,
                author=contributor,
                random_key=key,
                sort_key=key,
            )
    except IntegrityError:
        raise DomainError(
            "This object was annotated meanwhile.", code="already_annotated", status=409
        ) from None
    AnnotationRevision.objects.create(
        annotation=annotation, number=1, shapes=cleaned, author=contributor
    )
    _shape_facts_sync(annotation)
    refinement_questions_open(annotation=annotation, label=image_label.label)
    ImageLabel.objects.filter(pk=image_label.pk).update(needs_annotation=False)
    lease.delete()
    activity_announce(kind="outlined", label_id=image_label.label_id)
    return annotation


def _shape_facts_sync(annotation: Annotation) -> None:
    """Bring what queries filter on — `coverage` and the ShapeRefinement rows — in line with
    the annotation's current shapes; call it in the transaction that changed them."""
    coverage = shapes_coverage(annotation.shapes)
    if coverage != annotation.coverage:
        annotation.coverage = coverage
        annotation.save(update_fields=["coverage"])
    names = {name for shape in annotation.shapes for name in shape.get("refinements", {})}
    # Inactive refinements included: a label that left the catalog keeps its data, so the rows
    # depend only on the shapes, not on when they were last written. Names without a label
    # (deleted meanwhile) are skipped.
    refinement_ids = dict(
        Label.objects.filter(kind=LabelKind.REFINEMENT, name__in=names).values_list("name", "pk")
        if names
        else ()
    )
    ShapeRefinement.objects.filter(annotation=annotation).delete()
    ShapeRefinement.objects.bulk_create(
        ShapeRefinement(
            annotation=annotation,
            shape_index=index,
            refinement_id=refinement_ids[name],
            value=value,
        )
        for index, shape in enumerate(annotation.shapes)
        for name, value in shape.get("refinements", {}).items()
        if name in refinement_ids
    )
    # For those who keep forms of the shapes of their own (the exports'), once they are saved;
    # a listener's failure is logged and leaves the drawing saved.
    transaction.on_commit(
        lambda: announce("annotation.drawn", annotation_id=annotation.pk), robust=True
    )


@transaction.atomic
def annotation_revise(
    *, contributor: Contributor, annotation_id: int, base_revision, shapes
) -> Annotation:
    """Save reworked shapes as a new revision, if nobody saved another one since `base_revision`.

    A stale base is refused with the current revision number, so the second of two
    simultaneous saves learns about the first instead of overwriting it.
    """
    annotation = (
        Annotation.objects.select_for_update()
        .select_related("image_label__image", "image_label__label")
        .filter(pk=id_or_none(annotation_id), hidden=False)
        .first()
    )
    if annotation is None:
        raise DomainError("There is no such annotation.", code="not_found", status=404)
    if not annotation.image_label.image.is_public:
        raise DomainError("This image is not public.", code="image_not_public", status=409)
    if isinstance(base_revision, bool) or not isinstance(base_revision, int):
        raise DomainError("base_revision must be a revision number.", code="invalid_revision")
    if base_revision != annotation.revision:
        raise DomainError(
            f"Someone saved revision {annotation.revision} after revision {base_revision}, "
            "which you edited. Reload to see it, then make your change again; nothing was lost.",
            code="revision_conflict",
            status=409,
            current_revision=annotation.revision,
        )
    cleaned = shapes_clean(shapes, refinements=refinement_values())
    return _new_revision(annotation=annotation, shapes=cleaned, author=contributor)


def _new_revision(
    *, annotation: Annotation, shapes: list, author: Contributor, restored_from: int | None = None
) -> Annotation:
    annotation.revision += 1
    annotation.shapes = shapes
    annotation.updated_at = timezone.now()
    # A new revision is a new drawing: its review starts from nothing.
    review_reset = {
        "good_count": 0,
        "bad_count": 0,
        "unsure_count": 0,
        "counted_votes": 0,
        "evidence": 0.0,
        "probability": 0.5,
        "review_state": ReviewState.OPEN,
        "in_review": True,
        "sort_key": annotation.random_key,
        "gold_answer": "",  # the known verdict was about the old drawing
    }
    for name, value in review_reset.items():
        setattr(annotation, name, value)
    annotation.save(update_fields=["revision", "shapes", "updated_at", *review_reset])
    AnnotationRevision.objects.create(
        annotation=annotation,
        number=annotation.revision,
        shapes=shapes,
        author=author,
        restored_from=restored_from,
    )
    _shape_facts_sync(annotation)
    # Shape numbers of the old revision mean nothing in the new one: ask afresh.
    RefinementQuestion.objects.filter(annotation=annotation, in_queue=True).update(
        in_queue=False, state=QuestionState.STALE
    )
    refinement_questions_open(annotation=annotation, label=annotation.image_label.label)
    return annotation


@transaction.atomic
def annotation_revision_restore(
    *, annotation: Annotation, number: int, moderator: Contributor
) -> Annotation:
    """A moderator brings back an older revision, as a new revision (history stays intact)."""
    annotation = Annotation.objects.select_for_update().get(pk=annotation.pk)
    old = annotation.revisions.filter(number=number).first()
    if old is None:
        raise DomainError(f"There is no revision {number}.", code="not_found", status=404)
    before = {"revision": annotation.revision}
    annotation = _new_revision(
        annotation=annotation, shapes=old.shapes, author=moderator, restored_from=number
    )
    decision_announce(
        actor=moderator.user,
        kind="restore",
        target=annotation,
        reason=f"Revision {number} restored.",
        before=before,
        after={"revision": annotation.revision, "restored_from": number},
    )
    return annotation


@transaction.atomic
def annotation_task_release(*, contributor: Contributor, lease_id, kind: str) -> None:
    """End a leased task without drawing: pass, nothing to annotate here, not annotatable."""
    if kind not in TaskMarkKind.values:
        raise DomainError(f"Unknown task answer {kind[:30]!r}.", code="invalid_kind")
    lease = _held_lease(contributor=contributor, lease_id=lease_id)
    image_label = lease.image_label
    _, marked = AnnotationTaskMark.objects.get_or_create(
        contributor=contributor, image_label=image_label, defaults={"kind": kind}
    )
    # One contributor's word counts once, however often they lease the task again (browse mode
    # leases any task): alone they could otherwise retire it or outvote its label.
    if marked and kind == TaskMarkKind.NOTHING_HERE:
        # Seeing no such object is evidence against the label; validation weighs it like a
        # "no" answer to "does this image show it?".
        announce("image_label.not_seen", contributor=contributor, image_label=image_label)
    elif marked and kind == TaskMarkKind.NOT_ANNOTATABLE:
        ImageLabel.objects.filter(pk=image_label.pk).update(
            not_annotatable_marks=F("not_annotatable_marks") + 1
        )
        ImageLabel.objects.filter(
            pk=image_label.pk, not_annotatable_marks__gte=settings.ANNOTATION_RETIRE_AFTER
        ).update(needs_annotation=False)
    lease.delete()


# --- Review ----------------------------------------------------------------------------------

REVIEW_SIGN = {ReviewAnswer.GOOD: 1, ReviewAnswer.BAD: -1, ReviewAnswer.UNSURE: 0}


def review_consensus_apply(
    *,
    annotation_id: int,
    revision: int,
    evidence_delta: float,
    counted_delta: int,
    raw_answer: str | None = None,
) -> None:
    """Apply a review (or a recount's correction) to the current revision in a single UPDATE
    (see evidence_update); `raw_answer` also counts a new review in its raw tally."""
    update = evidence_update(
        delta=evidence_delta,
        counted_delta=counted_delta,
        state_field="review_state",
        states=(ReviewState.APPROVED, ReviewState.REJECTED, ReviewState.OPEN),
    )
    raw = {f"{raw_answer}_count": F(f"{raw_answer}_count") + 1} if raw_answer else {}
    Annotation.objects.filter(pk=annotation_id, revision=revision).update(
        **update.changes,
        **raw,
        in_review=Case(When(update.undecided, then=Value(True)), default=Value(False)),
    )


@transaction.atomic
def annotation_vote_cast(
    *,
    contributor: Contributor,
    annotation_id,
    revision,
    answer: str,
    audience: Sequence[str] = (),
) -> JudgementResult:
    """Review the current revision of an annotation; weighted and trained like label votes
    (answers on gold annotations go to the reviewer's gold record, with feedback in training)."""
    if answer not in ReviewAnswer.values:
        raise DomainError(
            f"Unknown answer {str(answer)[:20]!r}: use 'good', 'bad' or 'unsure'.",
            code="invalid_answer",
        )
    annotation = (
        Annotation.objects.select_related("image_label__image")
        .filter(pk=id_or_none(annotation_id), hidden=False)
        .first()
    )
    if annotation is None or not annotation.image_label.image.is_public:
        raise DomainError("There is no such annotation.", code="not_found", status=404)
    task_served_check(
        contributor=contributor, audience=audience, kind=REVIEW_KIND, task_id=annotation.pk
    )
    if revision != annotation.revision:
        raise DomainError(
            f"The annotation changed (now revision {annotation.revision}); review the new one.",
            code="revision_conflict",
            status=409,
            current_revision=annotation.revision,
        )
    if annotation.author_id == contributor.pk:
        raise DomainError("You cannot review your own drawing.", code="own_work", status=409)
    # On a gold annotation as on any: its public numbers must look like any other's.
    counting = counts_votes(contributor)
    weight = judgement_weight(contributor) if counting else 0.0
    try:
        with transaction.atomic():
            vote = AnnotationVote.objects.create(
                annotation=annotation,
                revision=revision,
                contributor=contributor,
                answer=answer,
                counted=counting,
                weight=weight,
                on_gold=annotation.is_gold,
            )
    except IntegrityError:
        raise DomainError(
            "You already reviewed this revision.", code="already_answered", status=409
        ) from None
    feedback = None
    if annotation.is_gold:
        feedback = gold_answer_record(
            contributor=contributor,
            correct=None if answer == ReviewAnswer.UNSURE else answer == annotation.gold_answer,
            expected=annotation.gold_answer,
        )
    review_consensus_apply(
        annotation_id=annotation.pk,
        revision=revision,
        evidence_delta=REVIEW_SIGN[answer] * weight,
        counted_delta=int(weight > 0),
        raw_answer=answer,
    )
    return JudgementResult(vote=vote, feedback=feedback)


@transaction.atomic
def annotation_gold_mark(
    *, annotation: Annotation, answer: str, by: AbstractBaseUser | None
) -> Annotation:
    """Make the current revision a gold item with a known verdict (moderators, in the admin),
    shown to reviewers as a check like label gold. The verdict stays private: the annotation
    keeps its public review state and numbers, which come from reviews like any other's."""
    if answer not in (ReviewAnswer.GOOD, ReviewAnswer.BAD):
        raise DomainError("A gold verdict is 'good' or 'bad'.", code="invalid_answer")
    before = {"gold_answer": annotation.gold_answer, "revision": annotation.revision}
    annotation.gold_answer = answer
    annotation.save(update_fields=["gold_answer"])
    decision_announce(
        actor=by,
        kind="gold",
        target=annotation,
        before=before,
        after={"gold_answer": answer, "revision": annotation.revision},
    )
    return annotation


def _next_gold_review(*, contributor: Contributor | None, exclude, rng) -> Annotation | None:
    gold = (
        Annotation.objects.exclude(gold_answer="")
        .filter(hidden=False)
        .exclude(pk__in=exclude)
        .filter(public_q("image_label__image__"))
    )
    if contributor is not None:
        reviewed = AnnotationVote.objects.filter(annotation=OuterRef("pk"), contributor=contributor)
        gold = gold.filter(~Exists(reviewed)).exclude(author=contributor)
    return random_first(gold.select_related("image_label__image", "image_label__label"), rng=rng)


def next_annotation_review(
    *, contributor: Contributor | None, exclude=(), audience: Sequence[str] = (), rng=random
) -> Annotation | None:
    """An annotation revision to review: not one's own, not reviewed by this contributor;
    remembered as handed to them (or `audience`) so they may review it.

    As with label questions, newcomers start with gold annotations and keep getting them
    often, and a decaying share of hidden gold keeps checking everyone else.
    """
    annotation = None
    if gold_due(contributor, rng=rng):
        annotation = _next_gold_review(contributor=contributor, exclude=exclude, rng=rng)
    if annotation is None:
        annotation = _next_review_in_queue(contributor=contributor, exclude=exclude, rng=rng)
    if annotation is not None:
        tasks_serve(
            contributor=contributor, audience=audience, kind=REVIEW_KIND, ids=[annotation.pk]
        )
    return annotation


def _next_review_in_queue(*, contributor: Contributor | None, exclude, rng) -> Annotation | None:
    queue = Annotation.objects.filter(public_q("image_label__image__"), in_review=True).exclude(
        pk__in=exclude
    )
    candidates = queue
    if contributor is not None:
        reviewed = AnnotationVote.objects.filter(
            annotation=OuterRef("pk"), revision=OuterRef("revision"), contributor=contributor
        )
        candidates = candidates.filter(~Exists(reviewed)).exclude(author=contributor)
    candidates = candidates.select_related("image_label__image", "image_label__label")
    return neediest_first(queue=queue, candidates=candidates, rng=rng)


# --- Refinement quiz ---------------------------------------------------------------------------


def refinement_questions_open(*, annotation: Annotation, label: Label) -> None:
    """Queue a quiz question for each refinement kind the catalog applies to this label and
    that the author left empty on a shape of the current revision."""
    kinds = Label.objects.refinements_for(label)
    RefinementQuestion.objects.bulk_create(
        RefinementQuestion(
            annotation=annotation,
            revision=annotation.revision,
            shape_index=index,
            refinement=kind,
        )
        for index, shape in enumerate(annotation.shapes)
        for kind in kinds
        if kind.name not in shape.get("refinements", {})
    )


def next_refinement_question(
    *, contributor: Contributor | None, exclude=(), audience: Sequence[str] = (), rng=random
) -> RefinementQuestion | None:
    """A quiz question on a public, not rejected annotation that this contributor has not
    answered, handed to them (or `audience`); `exclude` lists question ids the client already
    holds (preloading)."""
    queue = RefinementQuestion.objects.filter(
        public_q("annotation__image_label__image__"), in_queue=True
    ).exclude(annotation__review_state=ReviewState.REJECTED)
    if exclude:
        queue = queue.exclude(pk__in=exclude)
    if contributor is not None:
        answered = RefinementAnswer.objects.filter(question=OuterRef("pk"), contributor=contributor)
        queue = queue.filter(~Exists(answered))
    queue = queue.select_related(
        "refinement", "annotation__image_label__image", "annotation__image_label__label"
    )
    question = random_first(queue, rng=rng)
    if question is not None:
        tasks_serve(contributor=contributor, audience=audience, kind=QUIZ_KIND, ids=[question.pk])
    return question


@transaction.atomic
def refinement_answer(
    *, contributor: Contributor, question_id, value: str | None, audience: Sequence[str] = ()
) -> RefinementAnswer:
    """Answer a quiz question with one of the refinement's values, or None for “don't know”.

    Answers are weighted like label votes (nothing counts during training). The question row is
    locked while the answers are tallied, so two answers never decide it twice.
    """
    question = (
        RefinementQuestion.objects.select_for_update(of=("self",))
        .select_related("refinement", "annotation__image_label__image")
        .filter(pk=id_or_none(question_id))
        .first()
    )
    if question is None or not question.annotation.image_label.image.is_public:
        raise DomainError("There is no such question.", code="not_found", status=404)
    task_served_check(
        contributor=contributor, audience=audience, kind=QUIZ_KIND, task_id=question.pk
    )
    allowed = question.refinement.values
    if value is not None and value not in allowed:
        raise DomainError(
            f"{str(value)[:30]!r} is not a {question.refinement.name}; choose one of "
            f"{', '.join(allowed)}, or “don't know”.",
            code="invalid_value",
            allowed=allowed,
        )
    if not question.in_queue:
        raise DomainError(
            "This question is closed (it was decided, or the outline changed).",
            code="question_closed",
            status=409,
        )
    counting = counts_votes(contributor)
    try:
        with transaction.atomic():
            answer = RefinementAnswer.objects.create(
                question=question,
                contributor=contributor,
                value=value or "",
                counted=counting,
                weight=judgement_weight(contributor) if counting else 0.0,
            )
    except IntegrityError:
        raise DomainError(
            "You already answered this question.", code="already_answered", status=409
        ) from None
    RefinementQuestion.objects.filter(pk=question.pk).update(
        answer_count=F("answer_count") + 1,
        dont_know_count=F("dont_know_count") + int(value is None),
    )
    question.refresh_from_db(fields=["answer_count", "dont_know_count"])
    _refinement_decide(question)
    return answer


def _refinement_decide(question: RefinementQuestion) -> None:
    """Decide a question from its counted answers (see the REFINEMENT_* settings)."""
    tally = (
        question.answers.filter(counted=True)
        .exclude(value="")
        .values("value")
        .annotate(support=Sum("weight"), agreeing=Count("pk", filter=Q(weight__gt=0)))
        .order_by("-support")
    )
    leader, *others = list(tally) or [None]
    runner_up = others[0]["support"] if others else 0.0
    if (
        leader is not None
        and leader["agreeing"] >= settings.REFINEMENT_MIN_AGREEING
        and leader["support"] - runner_up >= settings.REFINEMENT_DECIDE_LEAD
    ):
        question.state = QuestionState.DECIDED
        question.value = leader["value"]
        _shape_refine(question)
    elif (
        question.dont_know_count >= settings.REFINEMENT_GIVE_UP_AFTER
        or question.answer_count >= settings.REFINEMENT_MAX_ANSWERS
    ):
        question.state = QuestionState.UNKNOWN
    else:
        return
    question.in_queue = False
    question.decided_at = timezone.now()
    question.save(update_fields=["state", "value", "in_queue", "decided_at"])


def _shape_refine(question: RefinementQuestion) -> None:
    """Write a decided value into the annotation's current shapes (not into its revision
    history, which keeps what the author drew), unless the outline changed meanwhile."""
    annotation = Annotation.objects.select_for_update().get(pk=question.annotation_id)
    if annotation.revision != question.revision:
        return
    shape = annotation.shapes[question.shape_index]
    shape.setdefault("refinements", {})[question.refinement.name] = question.value
    annotation.updated_at = timezone.now()
    annotation.save(update_fields=["shapes", "updated_at"])
    _shape_facts_sync(annotation)


def review_answers(*, limit: int) -> list[tuple]:
    """The newest good/bad reviews as (revision, reviewer, answer), for the reliability
    estimate."""
    rows = (
        AnnotationVote.objects.exclude(answer=ReviewAnswer.UNSURE)
        .order_by("-pk")
        .values_list("annotation_id", "revision", "contributor_id", "answer")[:limit]
    )
    return [(f"{annotation}:{revision}", who, answer) for annotation, revision, who, answer in rows]


def quiz_answers(*, limit: int) -> list[tuple]:
    """The newest quiz answers other than "don't know" as (question, contributor, value)."""
    return list(
        RefinementAnswer.objects.exclude(value="")
        .order_by("-pk")
        .values_list("question_id", "contributor_id", "value")[:limit]
    )


def contributor_reviews_recount(*, contributor_id: int, progress=None) -> int:
    """Make a contributor's annotation reviews and quiz answers counted or not, as their
    standing says — the label-vote recount's counterpart, run by the same background task.

    Each review flips once (a conditional UPDATE) and its evidence is added to or taken back
    from the revision it judged, if that is still current. Open quiz questions are decided
    again with the corrected answers; values already written into shapes stay. Judgements
    given before a demotion stay uncounted after a renewed promotion.
    Returns the number of reviews and answers flipped.
    """
    contributor = Contributor.objects.get(pk=contributor_id)
    weight = judgement_weight(contributor)
    stale = judgements_to_recount(contributor)
    flipped = 0
    pending = AnnotationVote.objects.filter(contributor_id=contributor_id).filter(stale)
    for number, (vote_id, was) in enumerate(list(pending.values_list("pk", "counted")), 1):
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        flipped += _review_recount(vote_id, was=was, becomes=not was, weight=weight)
    with transaction.atomic():
        answers = RefinementAnswer.objects.filter(contributor_id=contributor_id).filter(stale)
        open_questions = list(
            RefinementQuestion.objects.select_for_update()
            .select_related("refinement")
            .filter(in_queue=True, pk__in=answers.values("question_id"))
        )
        flipped += answers.filter(counted=False).update(counted=True, weight=weight)
        flipped += answers.filter(counted=True).update(counted=False, weight=0.0)
        for question in open_questions:
            _refinement_decide(question)
    return flipped


def _review_recount(vote_id: int, *, was: bool, becomes: bool, weight: float) -> int:
    with transaction.atomic():
        vote = AnnotationVote.objects.select_for_update().filter(pk=vote_id, counted=was).first()
        if vote is None:
            return 0
        sign = REVIEW_SIGN[vote.answer]
        weight = weight if becomes else 0.0
        AnnotationVote.objects.filter(pk=vote.pk).update(counted=becomes, weight=weight)
        was_weighed = vote.weight > 0
        review_consensus_apply(
            annotation_id=vote.annotation_id,
            revision=vote.revision,
            evidence_delta=sign * weight if becomes else -sign * vote.weight,
            counted_delta=int(weight > 0) if becomes else -int(was_weighed),
        )
        return 1


REVIEW_FIELDS = (
    "good_count",
    "bad_count",
    "unsure_count",
    "counted_votes",
    "evidence",
    "probability",
    "review_state",
    "in_review",
    "sort_key",
    "gold_answer",
)


def annotations_revert_author(*, contributor_id: int, moderator: Contributor) -> list[dict]:
    """Every annotation whose current revision is by `contributor_id` goes back to the newest
    earlier revision by someone else, as a new revision by `moderator` (history stays);
    annotations only they drew are hidden (annotation_hide). Returns, per annotation changed,
    what the undo needs."""
    current_theirs = Annotation.objects.filter(
        Exists(
            AnnotationRevision.objects.filter(
                annotation=OuterRef("pk"), number=OuterRef("revision"), author_id=contributor_id
            )
        )
    )
    rows = []
    for annotation_id in list(current_theirs.values_list("pk", flat=True)):
        with transaction.atomic():
            annotation = Annotation.objects.select_for_update().get(pk=annotation_id)
            theirs = annotation.revisions.get(number=annotation.revision)
            if theirs.author_id != contributor_id:
                continue  # someone revised it meanwhile
            earlier = (
                annotation.revisions.filter(number__lt=annotation.revision)
                .exclude(author_id=contributor_id)
                .order_by("-number")
                .first()
            )
            if earlier is None:
                shown = annotation_hide(annotation_id=annotation.pk)
                if shown is not None:
                    rows.append({"annotation": annotation.pk, "shown": shown})
                continue
            review = {name: getattr(annotation, name) for name in REVIEW_FIELDS}
            annotation = _new_revision(
                annotation=annotation,
                shapes=earlier.shapes,
                author=moderator,
                restored_from=earlier.number,
            )
            rows.append(
                {
                    "annotation": annotation.pk,
                    "their_revision": theirs.number,
                    "new_revision": annotation.revision,
                    "review": review,
                }
            )
    return rows


def annotations_reinstate(*, rows: list[dict], moderator: Contributor) -> int:
    """Undo annotations_revert_author: each annotation gets their drawing back (as a new
    revision) with the review it had, unless someone revised it since — newer work by others
    stays. Returns how many were reinstated."""
    reinstated = 0
    for row in rows:
        if "shown" in row:  # only theirs, hidden by the revert
            reinstated += annotation_unhide(annotation_id=row["annotation"], shown=row["shown"])
            continue
        with transaction.atomic():
            annotation = Annotation.objects.select_for_update().filter(pk=row["annotation"]).first()
            if annotation is None or annotation.revision != row["new_revision"]:
                continue
            theirs = annotation.revisions.get(number=row["their_revision"])
            annotation = _new_revision(
                annotation=annotation,
                shapes=theirs.shapes,
                author=moderator,
                restored_from=theirs.number,
            )
            for name, value in row["review"].items():
                setattr(annotation, name, value)
            annotation.save(update_fields=list(row["review"]))
            reinstated += 1
    return reinstated


# --- Hiding after reports (moderation) -----------------------------------------------------------


@transaction.atomic
def annotation_hide(*, annotation_id: int) -> dict | None:
    """Take an annotation out of the image page, every task, the API and the exports until a
    moderator decides; returns what the undo needs (None when there is no such annotation)."""
    annotation = Annotation.objects.select_for_update().filter(pk=annotation_id).first()
    if annotation is None or annotation.hidden:
        return None
    questions = list(
        RefinementQuestion.objects.filter(annotation=annotation, in_queue=True).values_list(
            "pk", flat=True
        )
    )
    RefinementQuestion.objects.filter(pk__in=questions).update(in_queue=False)
    Annotation.objects.filter(pk=annotation.pk).update(hidden=True, in_review=False)
    # In this transaction: the exports' copy of the outline goes with the hiding, or neither.
    announce("annotation.hidden", annotation_id=annotation.pk)
    return {"in_review": annotation.in_review, "questions": questions}


@transaction.atomic
def annotation_unhide(*, annotation_id: int, shown: dict) -> bool:
    """Bring a hidden annotation back as it was (`shown`: what annotation_hide returned)."""
    updated = Annotation.objects.filter(pk=annotation_id, hidden=True).update(
        hidden=False, in_review=shown.get("in_review", False)
    )
    if not updated:
        return False
    RefinementQuestion.objects.filter(pk__in=shown.get("questions", [])).update(in_queue=True)
    transaction.on_commit(lambda: announce("annotation.drawn", annotation_id=annotation_id))
    return True
