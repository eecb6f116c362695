import functools
import math
import random
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When

from contributors.models import Contributor, TrustLevel
from core.errors import DomainError
from core.events import activity_announce, announce, decision_announce
from core.params import id_or_none
from core.sampling import neediest_first, random_first
from donations.models import Image
from labels_app.models import Answer, GoldPool, ImageLabel, ImageLabelState, Label, LabelKind
from trust.evidence import evidence_update
from trust.recounts import PROGRESS_EVERY
from trust.served import task_served_check, tasks_serve
from trust.services import (
    Agreement,
    JudgementResult,
    agreements_record,
    counts_judgement,
    counts_votes,
    gold_answer_record,
    gold_due,
    gold_rate,
    is_established,
    judgement_weight,
    judgements_counted,
    judgements_to_recount,
)

from .models import ValidationQuestion, ValidationSkip, Vote

MAX_BATCH_VOTES = 50
SERVED_KIND = "label"  # what trust.served calls a validation question handed out
GRID_SIZE = 12
SIGN = {Answer.YES: 1, Answer.NO: -1, Answer.UNSURE: 0}


def consensus_apply(
    *,
    image_label_id: int,
    image_public: bool,
    annotatable: bool = False,
    evidence_delta: float = 0.0,
    established_delta: float = 0.0,
    counted_delta: int = 0,
    raw_answer: str | None = None,
) -> None:
    """Add evidence (and optionally a raw answer) to an image-label in one UPDATE statement,
    then judge its answers against its decision if it has one."""
    update = evidence_update(
        delta=evidence_delta,
        counted_delta=counted_delta,
        state_field="state",
        states=(ImageLabelState.CONFIRMED, ImageLabelState.REJECTED, ImageLabelState.OPEN),
        established_delta=established_delta,
    )
    changes = {
        **update.changes,
        "in_queue": Case(When(update.undecided, then=Value(image_public)), default=Value(False)),
        # Confirmed objects on public images wait to be outlined, unless retired as too hard.
        "needs_annotation": Case(
            When(
                update.decided_yes & Q(not_annotatable_marks__lt=settings.ANNOTATION_RETIRE_AFTER),
                then=Value(annotatable and image_public),
            ),
            default=Value(False),
        ),
    }
    if raw_answer is not None:
        changes[f"{raw_answer}_count"] = F(f"{raw_answer}_count") + 1
    ImageLabel.objects.filter(pk=image_label_id).update(**changes)
    row = ImageLabel.objects.filter(pk=image_label_id).values_list("state", "evidence").first()
    if row is None:
        return
    state, evidence = row
    before = evidence - evidence_delta
    if (before > 0 >= evidence) or (before < 0 <= evidence):
        # The consensus crossed one half (moderation watches items that keep flipping).
        announce("image_label.consensus_flipped", image_label_id=image_label_id)
    answers_judge(image_label_id=image_label_id, state=state)


def answers_judge(*, image_label_id: int, state: str) -> None:
    """Judge the answers on a decided item (in `state`, as it is now) against its decision,
    for each voter's agreement record: the answers not judged yet, and all of them again if
    the decision turned. Answers on gold are judged by the gold record instead."""
    if state == ImageLabelState.OPEN:
        return
    outcome = Answer.YES if state == ImageLabelState.CONFIRMED else Answer.NO
    other = Answer.NO if outcome == Answer.YES else Answer.YES
    stale = list(
        Vote.objects.select_for_update()
        .filter(image_label_id=image_label_id, on_gold=False)
        .filter((Q(answer=outcome) & ~Q(agreed=True)) | (Q(answer=other) & ~Q(agreed=False)))
        .values_list("pk", "contributor_id", "answer", "agreed")
    )
    if not stale:
        return
    agreements = [
        Agreement(contributor_id=voter, agreed=answer == outcome, before=before)
        for _, voter, answer, before in stale
    ]
    for agreed in (True, False):
        Vote.objects.filter(
            pk__in=[pk for (pk, *_), a in zip(stale, agreements, strict=True) if a.agreed == agreed]
        ).update(agreed=agreed)
    # After commit, one voter at a time: updating other voters' rows inside this transaction
    # (which holds the voter's own row) could deadlock with a vote of theirs.
    transaction.on_commit(functools.partial(agreements_record, agreements))


def label_answers(*, limit: int) -> list[tuple]:
    """The newest yes/no answers as (image-label, voter, answer), for the reliability estimate."""
    return list(
        Vote.objects.exclude(answer=Answer.UNSURE)
        .order_by("-pk")
        .values_list("image_label_id", "contributor_id", "answer")[:limit]
    )


# --- Training and trust ----------------------------------------------------------------------


def _network_weight(*, image_label_id: int, network: str, weight: float, vote_id=None) -> float:
    """Only the first counted vote from a network weighs on an item (a household, a campus or
    a sybil farm behind one address is one source)."""
    if not network or weight == 0:
        return weight
    others = Vote.objects.filter(
        image_label_id=image_label_id, network=network, counted=True, weight__gt=0
    )
    if vote_id is not None:
        others = others.exclude(pk=vote_id)
    return 0.0 if others.exists() else weight


def contributor_votes_recount(*, contributor_id: int, progress=None) -> int:
    """Make every vote of a contributor counted and weighted as their standing says.

    Retroactive and reversible: nothing is deleted, each vote is changed under its row lock
    (so a repeated or concurrent run is harmless) and the difference in evidence is added or
    taken back. Votes given before a demotion stay uncounted after a renewed promotion.
    Returns the number of votes changed.
    """
    contributor = Contributor.objects.get(pk=contributor_id)
    weight = judgement_weight(contributor)
    votes = Vote.objects.filter(contributor_id=contributor_id).filter(
        judgements_to_recount(contributor, weight=weight)
    )
    changed = 0
    for number, vote_id in enumerate(list(votes.values_list("pk", flat=True).iterator()), 1):
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        with transaction.atomic():
            vote = (
                Vote.objects.select_for_update()
                .select_related("image_label__image", "image_label__label")
                .filter(pk=vote_id)
                .first()
            )
            if vote is None:
                continue
            counting = counts_judgement(contributor, given_at=vote.created_at)
            target = (
                _network_weight(
                    image_label_id=vote.image_label_id,
                    network=vote.network,
                    weight=weight,
                    vote_id=vote.pk,
                )
                if counting
                else 0.0
            )
            if (vote.counted, vote.weight) == (counting, target):
                continue
            Vote.objects.filter(pk=vote.pk).update(counted=counting, weight=target)
            _recounted_evidence_apply(
                image_label=vote.image_label,
                contributor=contributor,
                given_at=vote.created_at,
                delta=SIGN[vote.answer] * (target - vote.weight),
                counted_delta=int(counting) - int(vote.counted),
            )
            if vote.weight > 0 and target == 0 and vote.network:
                _network_voice_handover(vote)
            changed += 1
    return changed


def _network_voice_handover(vote: Vote) -> None:
    """The vote that weighed for its network on an item stopped weighing (its voter was
    demoted): the network's next counted vote there takes its place, so a household that
    shared an address with a sleeper keeps one voice rather than none."""
    successor = (
        Vote.objects.select_for_update()
        .select_related("contributor")
        .filter(image_label_id=vote.image_label_id, network=vote.network, counted=True, weight=0)
        .exclude(pk=vote.pk)
        .order_by("created_at", "pk")
        .first()
    )
    if successor is None:
        return
    weight = judgement_weight(successor.contributor)
    if weight == 0:
        return
    Vote.objects.filter(pk=successor.pk).update(weight=weight)
    _recounted_evidence_apply(
        image_label=vote.image_label,
        contributor=successor.contributor,
        given_at=successor.created_at,
        delta=SIGN[successor.answer] * weight,
    )


def _recounted_evidence_apply(
    *,
    image_label: ImageLabel,
    contributor: Contributor,
    given_at,
    delta: float,
    counted_delta: int = 0,
) -> None:
    """Apply a recount's correction of one vote to its item's consensus."""
    established = is_established(contributor, at=given_at)
    consensus_apply(
        image_label_id=image_label.pk,
        image_public=image_label.image.is_public,
        annotatable=image_label.label.kind == LabelKind.OBJECT,
        evidence_delta=delta,
        established_delta=delta if established else 0.0,
        counted_delta=counted_delta,
    )


@transaction.atomic
def gold_mark(
    *,
    image_label: ImageLabel,
    answer: str,
    pool: str = GoldPool.HIDDEN,
    by: AbstractBaseUser | None,
) -> ImageLabel:
    """Make an image-label a gold item with a known answer (moderators, from the admin).

    The answer stays private: the item keeps its public state and numbers, which come from the
    crowd's votes as for any item, so no listing or payload tells it apart. Training gold
    teaches newcomers (with feedback) until it retires; hidden gold checks everyone silently.
    """
    if answer not in (Answer.YES, Answer.NO):
        raise DomainError("A gold answer is 'yes' or 'no'.", code="invalid_answer")
    if pool not in (GoldPool.TRAINING, GoldPool.HIDDEN):
        raise DomainError("A gold item trains or checks: 'training' or 'hidden'.", code="invalid")
    before = {"gold_answer": image_label.gold_answer, "gold_pool": image_label.gold_pool}
    ImageLabel.objects.filter(pk=image_label.pk).update(
        gold_answer=answer, gold_pool=pool, gold_trainees=0
    )
    decision_announce(
        actor=by,
        kind="gold",
        target=image_label,
        reason="" if by else "Gold pool topped up from a strong decision.",
        before=before,
        after={"gold_answer": answer, "gold_pool": pool},
    )
    _answers_on_gold_marked(image_label)
    image_label.refresh_from_db()
    return image_label


def gold_replenish(*, batch: int = 500, rng=random) -> dict[str, int]:
    """Top up the training and hidden gold pools from the crowd's strongest decisions.

    A candidate was decided by established evidence of GOLD_CANDIDATE_EVIDENCE and by at least
    GOLD_CANDIDATE_VOTES weighed answers of established voters (identities old enough when
    they answered, or moderators), with none of theirs against it: what a cohort of new
    identities decides never becomes a check, and a flood that retires training items does
    not leave newcomers without any. Hidden checks are filled first (to HIDDEN_GOLD_TARGET),
    then training items (to TRAINING_GOLD_TARGET).
    Runs after each reliability estimate. Returns how many items joined each pool.
    """
    wanted = {
        GoldPool.HIDDEN: settings.HIDDEN_GOLD_TARGET
        - ValidationQuestion.objects.gold(GoldPool.HIDDEN).count(),
        GoldPool.TRAINING: settings.TRAINING_GOLD_TARGET
        - ValidationQuestion.objects.gold(GoldPool.TRAINING).count(),
    }
    added = {GoldPool.HIDDEN: 0, GoldPool.TRAINING: 0}
    if max(wanted.values()) <= 0:
        return {str(pool): 0 for pool in added}
    # From a random point on, wrapping around, so every candidate gets its turn.
    start = rng.random()
    rows = ValidationQuestion.objects.gold_candidates().order_by("random_key")
    candidates = list(rows.filter(random_key__gte=start).values_list("pk", "state")[:batch])
    candidates += rows.filter(random_key__lt=start).values_list("pk", "state")[
        : batch - len(candidates)
    ]
    age = timedelta(days=settings.CONSENSUS_ESTABLISHED_DAYS)
    established = Counter(
        Vote.objects.filter(
            Q(contributor__created_at__lte=F("created_at") - age)
            | Q(contributor__trust_level=TrustLevel.MODERATOR),
            image_label_id__in=[pk for pk, _ in candidates],
            counted=True,
            weight__gt=0,
        ).values_list("image_label_id", "answer")
    )
    for pk, state in candidates:
        answer = Answer.YES if state == ImageLabelState.CONFIRMED else Answer.NO
        against = Answer.NO if answer == Answer.YES else Answer.YES
        if established[(pk, answer)] < settings.GOLD_CANDIDATE_VOTES or established[(pk, against)]:
            continue
        pool = next((p for p in (GoldPool.HIDDEN, GoldPool.TRAINING) if wanted[p] > 0), None)
        if pool is None:
            break
        gold_mark(image_label=ImageLabel.objects.get(pk=pk), answer=answer, pool=pool, by=None)
        wanted[pool] -= 1
        added[pool] += 1
    return {str(pool): count for pool, count in added.items()}


def _answers_on_gold_marked(image_label: ImageLabel) -> None:
    """Answers given before an item became gold are answers on gold now, so choosing the next
    gold item (which looks only at answers on gold, over a small index) skips it for them."""
    Vote.objects.filter(image_label=image_label).update(on_gold=True)


# --- Voting ----------------------------------------------------------------------------------


def _answer(value) -> str:
    if value not in Answer.values:
        raise DomainError(
            f"Unknown answer {str(value)[:20]!r}: use 'yes', 'no' or 'unsure'.",
            code="invalid_answer",
        )
    return value


def _votable(image_label_id) -> ImageLabel:
    image_label_id = id_or_none(image_label_id)
    image_label = (
        ImageLabel.objects.select_related("image", "label").filter(pk=image_label_id).first()
        if image_label_id
        else None
    )
    return _takes_answers(image_label)


def _takes_answers(image_label: ImageLabel | None) -> ImageLabel:
    """The image-label itself, if it may be answered now; a DomainError saying why not."""
    if image_label is None:
        raise DomainError("There is no such image-label.", code="not_found", status=404)
    if not image_label.image.is_public:
        raise DomainError(
            "This image is not public, so its labels cannot be validated.",
            code="image_not_public",
            status=409,
        )
    # Decided items take answers too when they are handed out again (re-checks and gold), so a
    # wrong decision can be reopened by later evidence.
    return image_label


def _new_vote(
    *, contributor: Contributor, image_label: ImageLabel, answer: str, network: str = ""
) -> Vote:
    """An unsaved vote, counted and weighted as the voter's standing says (on gold as on any
    item: the public numbers of a gold item must look like any other's)."""
    counting = counts_votes(contributor)
    weight = judgement_weight(contributor) if counting else 0.0
    return Vote(
        image_label=image_label,
        contributor=contributor,
        answer=answer,
        counted=counting,
        weight=_network_weight(image_label_id=image_label.pk, network=network, weight=weight),
        on_gold=image_label.is_gold,
        network=network,
    )


def _vote_apply(*, contributor: Contributor, vote: Vote) -> JudgementResult:
    """What a stored vote changes: the item's consensus, and on a gold item the voter's gold
    record too (with feedback only on training gold, only for trainees)."""
    image_label, answer = vote.image_label, vote.answer
    feedback = None
    if contributor.trust_level == TrustLevel.MODERATOR and answer != Answer.UNSURE:
        _moderator_answer_teaches(image_label, answer)
    elif image_label.is_gold:
        training = image_label.gold_pool == GoldPool.TRAINING
        if training and contributor.in_training:
            _training_item_answered(vote)
        feedback = gold_answer_record(
            contributor=contributor,
            correct=None if answer == Answer.UNSURE else answer == image_label.gold_answer,
            expected=image_label.gold_answer,
            feedback=training,
        )
    evidence = SIGN[answer] * vote.weight
    consensus_apply(
        image_label_id=image_label.pk,
        image_public=True,
        annotatable=image_label.label.kind == LabelKind.OBJECT,
        evidence_delta=evidence,
        established_delta=evidence if is_established(contributor, at=vote.created_at) else 0.0,
        counted_delta=int(vote.counted),
        raw_answer=answer,
    )
    return JudgementResult(vote=vote, feedback=feedback)


def _moderator_answer_teaches(image_label: ImageLabel, answer: str) -> None:
    """A moderator's answer is a known answer: the item becomes training gold (a fresh site
    gets items to train newcomers on from its moderators' ordinary validating). Items already
    gold keep their pool, so a hidden check stays hidden."""
    if ImageLabel.objects.filter(pk=image_label.pk, gold_answer="").update(
        gold_answer=answer, gold_pool=GoldPool.TRAINING, gold_trainees=0
    ):
        _answers_on_gold_marked(image_label)


def _training_item_answered(vote: Vote) -> None:
    """Count a trainee on a training item; once enough have seen its answer it retires (a ring
    of trainees pooling what feedback told them learns items nobody is checked on).

    Trainees are counted by network, not by identity: a flood of fresh identities from a few
    networks would otherwise use up every training item and leave real newcomers no way to
    train. (An unknown network counts each time.)
    """
    if vote.network and (
        Vote.objects.filter(image_label_id=vote.image_label_id, network=vote.network)
        .exclude(pk=vote.pk)
        .exists()
    ):
        return
    ImageLabel.objects.filter(pk=vote.image_label_id).update(
        gold_trainees=F("gold_trainees") + 1,
        gold_pool=Case(
            When(
                gold_trainees__gte=settings.TRAINING_GOLD_MAX_TRAINEES - 1,
                then=Value(GoldPool.RETIRED),
            ),
            default=F("gold_pool"),
        ),
    )


def record_answer(
    *, contributor: Contributor, image_label: ImageLabel, answer: str, network: str = ""
) -> JudgementResult:
    """Store an answer and apply it; callers check first that the item takes answers."""
    vote = _new_vote(
        contributor=contributor, image_label=image_label, answer=answer, network=network
    )
    try:
        with transaction.atomic():
            vote.save()
    except IntegrityError:
        raise DomainError(
            "You already answered this one; your first answer stands.",
            code="already_answered",
            status=409,
        ) from None
    judgements_counted(contributor=contributor, count=1)
    activity_announce(kind="validated", label_id=image_label.label_id)
    return _vote_apply(contributor=contributor, vote=vote)


def questions_open_on_unlock(*, images) -> None:
    """Labels the donor added while an image was pending join the validation queue when a
    moderator unlocks it (listens to the donation app's "images.unlocked")."""
    ValidationQuestion.objects.filter(
        image__in=images, state=ImageLabelState.OPEN, gold_answer=""
    ).update(in_queue=True)


def image_label_not_seen(*, contributor: Contributor, image_label: ImageLabel) -> None:
    """Someone asked to outline the object found none: a "no" answer, unless they answered
    this image-label already (listens to the annotation app's "image_label.not_seen")."""
    if not Vote.objects.filter(contributor=contributor, image_label=image_label).exists():
        record_answer(contributor=contributor, image_label=image_label, answer=Answer.NO)


@transaction.atomic
def vote_cast(
    *,
    contributor: Contributor,
    image_label_id: int,
    answer: str,
    audience: Sequence[str] = (),
    network: str = "",
) -> JudgementResult:
    """Record one answer on a question handed to this voter (or to their browser before their
    first write: `audience`); it counts toward consensus once the voter has passed training.
    `network` is the request's network key (core.ratelimits.network_key)."""
    answer = _answer(answer)
    image_label = _votable(image_label_id)
    task_served_check(
        contributor=contributor, audience=audience, kind=SERVED_KIND, task_id=image_label.pk
    )
    return record_answer(
        contributor=contributor, image_label=image_label, answer=answer, network=network
    )


@transaction.atomic
def votes_cast_batch(
    *,
    contributor: Contributor,
    answers: list[dict],
    audience: Sequence[str] = (),
    network: str = "",
) -> list[JudgementResult]:
    """Record many answers at once (grid mode), each on a question handed to this voter: all
    are checked first, then all are stored."""
    if not answers:
        raise DomainError("Send at least one answer.", code="no_votes")
    if len(answers) > MAX_BATCH_VOTES:
        raise DomainError(f"At most {MAX_BATCH_VOTES} answers at once.", code="too_many")
    ids = []
    for index, item in enumerate(answers):
        # Anything that is not an id names no image-label, like an id that does not exist.
        image_label_id = id_or_none(item.get("image_label")) if isinstance(item, dict) else None
        if image_label_id is None:
            raise DomainError(
                f"Answer {index + 1}: There is no such image-label.", code="not_found", status=404
            )
        ids.append(image_label_id)
    # One query for all items; each is then checked as a single vote would be.
    found = ImageLabel.objects.select_related("image", "label").in_bulk(ids)
    checked = []
    seen = set()
    for index, (item, image_label_id) in enumerate(zip(answers, ids, strict=True)):
        try:
            image_label = _takes_answers(found.get(image_label_id))
            answer = _answer(item.get("answer"))
            task_served_check(
                contributor=contributor,
                audience=audience,
                kind=SERVED_KIND,
                task_id=image_label.pk,
            )
        except DomainError as error:
            raise DomainError(
                f"Answer {index + 1}: {error.message}", code=error.code, status=error.status
            ) from None
        if image_label.pk in seen:
            raise DomainError(
                f"Answer {index + 1}: the same image-label appears twice.", code="duplicate"
            )
        seen.add(image_label.pk)
        checked.append((image_label, answer))
    already = set(
        Vote.objects.filter(contributor=contributor, image_label__in=seen).values_list(
            "image_label_id", flat=True
        )
    )
    if already:
        raise DomainError(
            f"You already answered {len(already)} of these; nothing was stored.",
            code="already_answered",
            status=409,
        )
    votes = [
        _new_vote(contributor=contributor, image_label=image_label, answer=answer, network=network)
        for image_label, answer in checked
    ]
    try:
        with transaction.atomic():
            Vote.objects.bulk_create(votes)
    except IntegrityError:  # a second tab answered one of them meanwhile
        raise DomainError(
            "You answered some of these meanwhile; nothing was stored.",
            code="already_answered",
            status=409,
        ) from None
    judgements_counted(contributor=contributor, count=len(votes))
    # A gold answer may end training mid-batch; the recount it starts counts the rest. The
    # questions' rows are updated in id order, so concurrent batches over the same questions
    # (a grid hands one label's neediest to everyone) wait for each other instead of
    # deadlocking.
    applied = {
        vote.image_label_id: _vote_apply(contributor=contributor, vote=vote)
        for vote in sorted(votes, key=lambda vote: vote.image_label_id)
    }
    return [applied[vote.image_label_id] for vote in votes]


def validation_skip(*, contributor: Contributor, image_label_id: int) -> None:
    """Remember that the contributor passed on this item; it is not offered to them again."""
    image_label_id = id_or_none(image_label_id)
    image_label = ImageLabel.objects.filter(pk=image_label_id).first() if image_label_id else None
    if image_label is None:
        raise DomainError("There is no such image-label.", code="not_found", status=404)
    ValidationSkip.objects.get_or_create(contributor=contributor, image_label=image_label)


# --- Next task -------------------------------------------------------------------------------


def gold_pool_for(contributor: Contributor | None) -> str:
    """Trainees learn on training gold (with feedback); everyone else meets hidden checks."""
    training = contributor is None or contributor.in_training
    return GoldPool.TRAINING if training else GoldPool.HIDDEN


def _next_gold(
    *, contributor: Contributor | None, label: Label | None, exclude: tuple, rng
) -> ImageLabel | None:
    gold = (
        ValidationQuestion.objects.gold(gold_pool_for(contributor))
        .not_seen_by(contributor, gold_only=True)
        .exclude(pk__in=exclude)
        .select_related("image", "label__parent")
    )
    if label is not None:
        gold = gold.filter(label=label)
    return random_first(gold, rng=rng)


def _next_recheck(
    *, contributor: Contributor, label: Label | None, exclude: tuple, rng
) -> ImageLabel | None:
    """A decided item handed out again: its answers add evidence and can reopen it."""
    rows = (
        ValidationQuestion.objects.recheckable()
        .not_seen_by(contributor)
        .exclude(pk__in=exclude)
        .select_related("image", "label__parent")
    )
    if label is not None:
        rows = rows.filter(label=label)
    return random_first(rows, rng=rng)


def _next_in_queue(
    *, contributor: Contributor | None, label: Label | None, exclude: tuple, rng
) -> ImageLabel | None:
    queue = ValidationQuestion.objects.in_queue()
    if label is not None:
        queue = queue.filter(label=label)
    candidates = (
        queue.not_seen_by(contributor)
        .exclude(pk__in=exclude)
        .select_related("image", "label__parent")
    )
    return neediest_first(queue=queue, candidates=candidates, rng=rng)


def next_validation_task(
    *,
    contributor: Contributor | None,
    label: Label | None = None,
    exclude: tuple[int, ...] = (),
    audience: Sequence[str] = (),
    rng=random,
) -> ImageLabel | None:
    """The next image-label to ask this contributor about (never one they answered or skipped),
    remembered as handed to them (or to `audience`, the request's identities) so they may
    answer it.

    Newcomers start with gold items and keep getting them often; later a decaying share of
    hidden gold keeps checking. Otherwise the most-needed open item, via index range scans.
    `exclude` lets a page preload the task after the one on screen.
    """
    tasks = next_validation_tasks(
        contributor=contributor, count=1, label=label, exclude=exclude, audience=audience, rng=rng
    )
    return tasks[0] if tasks else None


def next_validation_tasks(
    *,
    contributor: Contributor | None,
    count: int,
    label: Label | None = None,
    exclude: tuple[int, ...] = (),
    audience: Sequence[str] = (),
    rng=random,
) -> list[ImageLabel]:
    """The next `count` questions at once (a page or client buffering ahead), each chosen as
    `next_validation_task` chooses one (gold at the same rate, so a place in the batch tells
    nothing), none twice, all handed out together."""
    rate = label_gold_rate(contributor, label) if label is not None else None
    recheck = contributor is not None and counts_votes(contributor)
    tasks: list[ImageLabel] = []
    for _ in range(count):
        taken = (*exclude, *(task.pk for task in tasks))
        task = None
        if gold_due(contributor, rng=rng, rate=rate):
            task = _next_gold(contributor=contributor, label=label, exclude=taken, rng=rng)
        elif recheck and rng.random() < settings.RECHECK_RATE:
            task = _next_recheck(contributor=contributor, label=label, exclude=taken, rng=rng)
        if task is None:
            task = _next_in_queue(contributor=contributor, label=label, exclude=taken, rng=rng)
        if task is None:
            break
        tasks.append(task)
    tasks_serve(
        contributor=contributor, audience=audience, kind=SERVED_KIND, ids=[t.pk for t in tasks]
    )
    return tasks


def next_validation_grid(
    *,
    contributor: Contributor | None,
    label: Label,
    size: int = GRID_SIZE,
    audience: Sequence[str] = (),
    images: Q | None = None,
    rng=random,
) -> list[ImageLabel]:
    """Up to `size` open image-labels of one label for the grid, most-needed first, handed to
    this contributor (or `audience`) like single questions."""
    rows = _grid_rows(contributor=contributor, label=label, size=size, images=images, rng=rng)
    rows = _with_hidden_gold(rows, contributor=contributor, label=label, images=images, rng=rng)
    tasks_serve(
        contributor=contributor, audience=audience, kind=SERVED_KIND, ids=[r.pk for r in rows]
    )
    return rows


def label_gold_rate(contributor: Contributor | None, label: Label) -> float:
    """The contributor's gold rate, raised for someone answering much of one label (a flood
    against one label meets more checks there): up to GOLD_RATE_LABEL_FOCUS_MAX times."""
    rate = gold_rate(contributor)
    if contributor is None or rate == 0:
        return rate
    on_label = Vote.objects.filter(contributor=contributor, image_label__label=label).count()
    focus = 1 + on_label / settings.GOLD_RATE_LABEL_FOCUS_VOTES
    return min(1.0, rate * min(focus, settings.GOLD_RATE_LABEL_FOCUS_MAX))


def _with_hidden_gold(
    rows: list, *, contributor: Contributor | None, label: Label, images: Q | None, rng
) -> list:
    """Swap some grid places for gold items of the label, at the contributor's rate for it, and
    shuffle, so neither the grid nor the order of its items tells where the checks are (gold
    too meets the page's image query: an item outside it would stand out)."""
    rate = label_gold_rate(contributor, label)
    wanted = sum(rng.random() < rate for _ in rows)
    if wanted:
        taken = {row.pk for row in rows}
        gold = list(
            _on_images(ValidationQuestion.objects.gold(gold_pool_for(contributor)), images)
            .not_seen_by(contributor, gold_only=True)
            .filter(label=label, random_key__gte=rng.random())
            .exclude(pk__in=taken)
            .select_related("image", "label")
            .order_by("random_key")[:wanted]
        )
        rows = rows[: len(rows) - len(gold)] + gold
    rng.shuffle(rows)
    return rows


def _on_images(questions, images: Q | None):
    """Questions about the images an image query (core.image_queries) matches."""
    if images is None:
        return questions
    return questions.filter(image__in=Image.objects.filter(images).values("pk"))


def _grid_rows(
    *, contributor: Contributor | None, label: Label, size: int, images: Q | None, rng
) -> list:
    queue = _on_images(ValidationQuestion.objects.open_for(contributor), images).filter(label=label)
    lowest = queue.order_by("sort_key").values_list("sort_key", flat=True).first()
    if lowest is None:
        return []
    start = math.floor(lowest) + rng.random()
    rows = list(
        queue.filter(sort_key__gte=start)
        .select_related("image", "label")
        .order_by("sort_key")[:size]
    )
    if len(rows) < size:
        seen = {row.pk for row in rows}
        more = queue.exclude(pk__in=seen).select_related("image", "label").order_by("sort_key")
        rows += list(more[: size - len(rows)])
    return rows
