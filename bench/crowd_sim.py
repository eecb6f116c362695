"""Simulation: does the site's trust-weighted consensus beat a plain majority of a mixed crowd?

A crowd of simulated voters answers image-labels whose truth only the simulation knows, through
the real services - ``next_validation_task`` picks each task, ``vote_cast`` records each answer,
gold answers drive ``training_evaluate`` and promotions or demotions recount votes through the
real task (``recount_contributor_judgements`` on the immediate backend). Nothing of the rules is
re-implemented here; the script only plays the voters and reads the rows at the end.

The crowd (from the issue):

* ``--labels`` open image-labels (10,000) with a hidden truth, "yes" with ``--yes-share`` (0.5);
* ``--gold`` extra image-labels (200) made gold with the real ``gold_mark`` and their truth;
* ``--voters`` voters (500): honest answer right with p=0.9, careless with p=0.6, adversarial
  always wrong (also on gold); ``--careless`` (0.2) stays fixed and honest voters make up the
  rest, so raising adversaries to 30 % leaves 50 % honest. Nobody answers "unsure" or skips.

Each step picks a random voter who still gets tasks, so training, promotion and demotion
happen over time as in a real crowd. A voter who gets no task is set aside; once all are, the
run stops if the queue is empty or every open image-label was answered by every voter, and
otherwise gives the voters another turn (a recount can reopen items). Gold alone does not bring
a voter back: the services hand out gold even with an empty queue. A run also stops after
``--votes-per-label`` answers per image-label on average (gold answers included).

Measured over the non-gold image-labels:

* (a) plain majority of the raw answers (``yes_count`` against ``no_count``, ties undecided);
* (b) the site's consensus: image-labels whose ``state`` is confirmed or rejected.

Target (from the issue), for each adversary share: (b) at least 99 % accurate, (b) at least
90 % decided, and (b) more accurate than (a). It is a simulation, not a test: the exit code is
always 0 and the verdict is printed, with diagnostics of where wrong decisions come from.

The site's rules are read from the settings as usual, so other values can be tried without
touching code, e.g. ``CONSENSUS_DECISIVE_PROBABILITY=0.999 .venv/bin/python bench/crowd_sim.py``.

Everything runs in a throw-away data directory (SQLite database, secret key) that is removed at
the end. ``--database-url`` runs on another database (e.g. PostgreSQL) instead; it must hold no
image-labels (the simulation's queue would be mixed with real ones) and only the rows the
simulation created are deleted afterwards.

Run from the repository root::

    .venv/bin/python bench/crowd_sim.py [--labels 10000 --voters 500 --gold 200 --seed 1
                                         --adversarial 0.1,0.3]

Each answer goes through the full services (about 15-20 ms on SQLite on a 2-core machine), so
the issue's numbers take about 45 minutes for both scenarios (~64k and ~87k answers). A quick
run with the same items per voter, ``--labels 2000 --voters 100``, takes about 7 minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
HONEST, CARELESS, ADVERSARIAL = "honest", "careless", "adversarial"
KINDS = (HONEST, CARELESS, ADVERSARIAL)
ACCURACY = {HONEST: 0.9, CARELESS: 0.6, ADVERSARIAL: 0.0}
TARGET_ACCURACY = 0.99
TARGET_DECIDED = 0.90
PROGRESS_EVERY = 20_000
# A service error is a bug in the site, not a voter's doing: a few are reported, many abort.
MAX_SERVICE_ERRORS = 100
SETTING_NAMES = (
    "TRAINING_MIN_GOLD",
    "TRAINING_ACCURACY_BOUND",
    "TRAINING_CONFIDENCE_Z",
    "GOLD_RATE_TRAINING",
    "GOLD_RATE_AFTER_TRAINING",
    "GOLD_RATE_FLOOR",
    "GOLD_RATE_DECAY_VOTES",
    "TRUST_TRUSTED_MIN_GOLD",
    "TRUST_TRUSTED_ACCURACY_BOUND",
    "CONSENSUS_MAX_VOTE_WEIGHT",
    "CONSENSUS_DECISIVE_PROBABILITY",
)


def environment_isolate(data_dir: Path, database_url: str | None) -> None:
    """Point the settings at a throw-away data directory; must run before ``django.setup()``."""
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{data_dir / 'crowd.sqlite3'}"
    # Recounts are enqueued on commit; the immediate backend runs them right there, as a
    # worker would shortly after, so promotions and demotions take effect during the run.
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    # Hundreds of thousands of answers in minutes would trip the per-voter rate limits.
    os.environ["RATELIMIT_ENABLE"] = "false"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagemonkey_site.settings"
    # A developer's shell may point these at shared services.
    for name in ("REDIS_URL", "S3_BUCKET", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


@dataclass
class Voter:
    pk: int
    kind: str

    def answer(self, truth: str, rng: random.Random) -> str:
        """What this voter answers when the truth is `truth` ("yes" or "no")."""
        wrong = "no" if truth == "yes" else "yes"
        if self.kind == ADVERSARIAL:
            return wrong
        return truth if rng.random() < ACCURACY[self.kind] else wrong


@dataclass
class Crowd:
    """The rows one scenario created, and the truth only the simulation knows."""

    label_id: int
    donor_id: int
    image_ids: list[Any]
    item_ids: list[int]  # the non-gold image-labels that are measured
    gold_ids: list[int]
    truth: dict[int, str]  # image-label id -> "yes"/"no", gold included
    voters: list[Voter]


@dataclass
class RecountLog:
    """What the recount tasks did, seen through django-tasks' signal (the backend swallows
    exceptions, so a failed recount would otherwise go unnoticed)."""

    runs: int = 0
    failed: int = 0
    flipped: int = 0
    errors: list[str] = field(default_factory=list)

    def on_finished(self, sender: Any, task_result: Any, **kwargs: Any) -> None:
        from django_tasks.base import TaskResultStatus

        self.runs += 1
        if task_result.status == TaskResultStatus.FAILED:
            self.failed += 1
            if len(self.errors) < 3:
                self.errors.append(task_result.errors[-1].traceback.strip().splitlines()[-1])
        else:
            self.flipped += int(task_result.return_value or 0)


@dataclass
class Outcome:
    accuracy: float | None
    decided: int
    correct: int

    def share(self, total: int) -> float:
        return self.decided / total if total else 0.0


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:6.2f} %"


def kinds_assign(voters: int, adversarial: float, careless: float, rng: random.Random) -> list:
    """Exact numbers per kind (rounded), shuffled so creation order says nothing."""
    n_adversarial = round(voters * adversarial)
    n_careless = round(voters * careless)
    n_honest = voters - n_adversarial - n_careless
    if n_honest < 0:
        raise SystemExit("The careless and adversarial shares add up to more than 100 %.")
    kinds = [HONEST] * n_honest + [CARELESS] * n_careless + [ADVERSARIAL] * n_adversarial
    rng.shuffle(kinds)
    return kinds


def crowd_create(args: argparse.Namespace, adversarial: float, rng: random.Random) -> Crowd:
    """Images, image-labels, gold items and voters as cheap rows (no files are needed)."""
    from contributors.models import Contributor
    from donations.models import Image, ImageStatus
    from labels_app.models import Answer, GoldPool, ImageLabel, Label
    from validations.services import gold_mark

    tag = f"{args.seed}-{adversarial}-{rng.random():.12f}"
    donor = Contributor.objects.create()
    label = Label.objects.create(
        name=f"simulated thing {tag}"[:64],
        plural=f"simulated things {tag}"[:64],
        description="A label made by bench/crowd_sim.py.",
        group="bench",
    )
    total = args.labels + args.gold
    images = []
    for index in range(total):
        digest = hashlib.sha256(f"crowd-sim {tag} {index}".encode()).hexdigest()
        images.append(
            Image(
                media_type="image/jpeg",
                byte_size=1,
                width=1,
                height=1,
                original_format="JPEG",
                sha256=digest,
                phash=digest[:16],
                phash_band0=int(digest[0:4], 16),
                phash_band1=int(digest[4:8], 16),
                phash_band2=int(digest[8:12], 16),
                phash_band3=int(digest[12:16], 16),
                status=ImageStatus.UNLOCKED,
                donor=donor,
                cc0_confirmed=True,
                random_key=rng.random(),
            )
        )
    Image.objects.bulk_create(images, batch_size=2000)
    rows = []
    for image in images:
        # Set the sampling key from the seeded generator; a fresh item's rank is 0.
        key = rng.random()
        rows.append(
            ImageLabel(
                image=image,
                label=label,
                added_by=donor,
                in_queue=True,
                random_key=key,
                sort_key=key,
            )
        )
    ImageLabel.objects.bulk_create(rows, batch_size=2000)
    ids = list(ImageLabel.objects.filter(label=label).order_by("pk").values_list("pk", flat=True))
    rng.shuffle(ids)
    item_ids, gold_ids = ids[: args.labels], ids[args.labels :]
    truth = {pk: Answer.YES if rng.random() < args.yes_share else Answer.NO for pk in ids}
    # Half the gold teaches newcomers (with feedback), half checks everyone silently.
    for index, image_label in enumerate(ImageLabel.objects.filter(pk__in=gold_ids)):
        pool = GoldPool.TRAINING if index % 2 == 0 else GoldPool.HIDDEN
        gold_mark(image_label=image_label, answer=truth[image_label.pk], pool=pool)

    kinds = kinds_assign(args.voters, adversarial, args.careless, rng)
    created = Contributor.objects.bulk_create([Contributor() for _ in kinds])
    if any(contributor.pk is None for contributor in created):  # backends without RETURNING
        created = list(Contributor.objects.exclude(pk=donor.pk).order_by("-pk")[: len(kinds)])
    voters = [
        Voter(pk=contributor.pk, kind=kind)
        for contributor, kind in zip(created, kinds, strict=True)
    ]
    return Crowd(
        label_id=label.pk,
        donor_id=donor.pk,
        image_ids=[image.pk for image in images],
        item_ids=item_ids,
        gold_ids=gold_ids,
        truth=truth,
        voters=voters,
    )


def crowd_delete(crowd: Crowd) -> None:
    """Remove exactly the rows this scenario made, dependants first (several are PROTECTed)."""
    from contributors.models import Contributor
    from donations.models import Image
    from labels_app.models import ImageLabel, Label
    from validations.models import ValidationSkip, Vote

    contributor_ids = [voter.pk for voter in crowd.voters] + [crowd.donor_id]
    Vote.objects.filter(contributor_id__in=[voter.pk for voter in crowd.voters]).delete()
    ValidationSkip.objects.filter(image_label__label_id=crowd.label_id).delete()
    ImageLabel.objects.filter(label_id=crowd.label_id).delete()
    for start in range(0, len(crowd.image_ids), 500):
        Image.objects.filter(pk__in=crowd.image_ids[start : start + 500]).delete()
    Label.objects.filter(pk=crowd.label_id).delete()
    Contributor.objects.filter(pk__in=contributor_ids).delete()


@dataclass
class RunLog:
    votes: int = 0
    gold_votes: int = 0
    sweeps: int = 0
    service_errors: Counter = field(default_factory=Counter)
    stop_reason: str = ""


def crowd_vote(crowd: Crowd, budget: int, rng: random.Random) -> RunLog:
    """Let random voters take the next task and answer it until nobody gets one or the budget
    is spent. Each answer is its own top-level transaction, so on_commit recounts run."""
    from django.db import transaction

    from contributors.models import Contributor
    from core.errors import DomainError
    from validations.models import ValidationQuestion
    from validations.services import next_validation_task, vote_cast

    log = RunLog()
    gold = set(crowd.gold_ids)
    items = ValidationQuestion.objects.filter(label_id=crowd.label_id, gold_answer="")
    active = list(crowd.voters)
    exhausted: list[Voter] = []
    started = time.perf_counter()
    while True:
        if log.votes >= budget:
            log.stop_reason = f"vote budget spent ({budget:,} answers)"
            break
        if not active:
            # Every voter was sent away once. A recount (demotion or promotion) may have
            # reopened items since, so give each voter another turn if the queue still holds
            # something they have not answered. Gold alone is no reason to come back: with an
            # empty queue, next_validation_task still hands out gold at the gold rate, and
            # re-asking for it would answer all 200 gold items per voter before stopping.
            log.sweeps += 1
            if not items.filter(in_queue=True).exists():
                log.stop_reason = "no voter gets a task: every image-label decided (queue empty)"
                break
            for voter in exhausted:
                contributor = Contributor.objects.get(pk=voter.pk)
                if items.open_for(contributor).exists():
                    active.append(voter)
            if not active:
                log.stop_reason = (
                    "no voter gets a task: the open image-labels were answered by every voter"
                )
                break
            exhausted = [voter for voter in exhausted if voter not in active]
        index = rng.randrange(len(active))
        voter = active[index]
        # Loaded afresh per step, as each web request does: vote_cast reads the standing
        # (counting, weight) from the object it is given.
        contributor = Contributor.objects.get(pk=voter.pk)
        task = next_validation_task(contributor=contributor, rng=rng)
        if task is None:
            active[index] = active[-1]
            active.pop()
            exhausted.append(voter)
            continue
        answer = voter.answer(crowd.truth[task.pk], rng)
        try:
            with transaction.atomic():
                vote_cast(contributor=contributor, image_label_id=task.pk, answer=answer)
        except DomainError as error:
            log.service_errors[error.code] += 1
            if sum(log.service_errors.values()) > MAX_SERVICE_ERRORS:
                log.stop_reason = f"aborted after {MAX_SERVICE_ERRORS} service errors"
                break
            continue
        log.votes += 1
        log.gold_votes += task.pk in gold
        if log.votes % PROGRESS_EVERY == 0:
            elapsed = time.perf_counter() - started
            open_items = items.filter(state="open").count()
            print(
                f"    … {log.votes:,} answers in {elapsed:.0f} s "
                f"({1000 * elapsed / log.votes:.1f} ms each), {open_items:,} items still open",
                file=sys.stderr,
                flush=True,
            )
    return log


def majority_outcome(rows: list[tuple], truth: dict[int, str]) -> Outcome:
    decided = correct = 0
    for pk, yes, no, *_ in rows:
        if yes == no:
            continue
        decided += 1
        correct += ("yes" if yes > no else "no") == truth[pk]
    return Outcome(
        accuracy=correct / decided if decided else None, decided=decided, correct=correct
    )


def consensus_outcome(rows: list[tuple], truth: dict[int, str]) -> Outcome:
    decided = correct = 0
    for pk, _yes, _no, state, *_ in rows:
        if state == "open":
            continue
        decided += 1
        correct += ("yes" if state == "confirmed" else "no") == truth[pk]
    return Outcome(
        accuracy=correct / decided if decided else None, decided=decided, correct=correct
    )


def wrong_decisions_explain(crowd: Crowd, rows: list[tuple]) -> list[str]:
    """Which counted votes put the wrongly decided items over the threshold."""
    from validations.models import Vote

    kind_of = {voter.pk: voter.kind for voter in crowd.voters}
    wrong = {
        pk
        for pk, _yes, _no, state, *_ in rows
        if state != "open" and ("yes" if state == "confirmed" else "no") != crowd.truth[pk]
    }
    right = {pk for pk, _yes, _no, state, *_ in rows if state != "open"} - wrong
    counted = defaultdict(list)
    for item, contributor, answer, weight in Vote.objects.filter(
        contributor_id__in=list(kind_of), on_gold=False, counted=True
    ).values_list("image_label_id", "contributor_id", "answer", "weight"):
        counted[item].append((kind_of[contributor], answer, weight))

    def votes_histogram(items: set[int]) -> str:
        sizes = Counter(min(len(counted[item]), 6) for item in items)
        return ", ".join(f"{'6+' if size == 6 else size}: {sizes[size]}" for size in sorted(sizes))

    lines = [
        f"counted votes per decided item, right ({len(right):,}): {votes_histogram(right)}",
        f"counted votes per decided item, wrong ({len(wrong):,}): {votes_histogram(wrong)}",
    ]
    if not wrong:
        return lines
    wrong_evidence: Counter = Counter()
    wrong_votes: Counter = Counter()
    right_votes: Counter = Counter()
    with_careless = 0
    for item in wrong:
        kinds_here = set()
        for kind, answer, weight in counted[item]:
            if answer != crowd.truth[item]:
                wrong_votes[kind] += 1
                wrong_evidence[kind] += weight
                kinds_here.add(kind)
            else:
                right_votes[kind] += 1
        with_careless += CARELESS in kinds_here
    total_evidence = sum(wrong_evidence.values()) or 1.0
    lines.append(
        "wrong-way counted votes on wrong items by kind: "
        + ", ".join(
            f"{kind} {wrong_votes[kind]} ({100 * wrong_evidence[kind] / total_evidence:.0f} % "
            "of their evidence)"
            for kind in KINDS
        )
    )
    lines.append(
        "right-way counted votes on wrong items by kind: "
        + ", ".join(f"{kind} {right_votes[kind]}" for kind in KINDS)
    )
    lines.append(f"wrong items with a careless voter's counted wrong vote: {with_careless}")
    weights = [w for item in wrong for _k, a, w in counted[item] if a != crowd.truth[item]]
    mean = sum(weights) / len(weights)
    lines.append(
        f"weight of wrong-way counted votes on wrong items: mean {mean:.2f}, "
        f"min {min(weights):.2f}, max {max(weights):.2f}"
    )
    return lines


def voters_report(crowd: Crowd) -> list[str]:
    from contributors.models import Contributor, TrustLevel

    kind_of = {voter.pk: voter.kind for voter in crowd.voters}
    stats: dict[str, Counter] = {kind: Counter() for kind in KINDS}
    for pk, passed_at, counted, level, answered, correct, cast in Contributor.objects.filter(
        pk__in=list(kind_of)
    ).values_list(
        "pk",
        "training_passed_at",
        "votes_counted",
        "trust_level",
        "gold_answered",
        "gold_correct",
        "votes_cast",
    ):
        stat = stats[kind_of[pk]]
        stat["voters"] += 1
        stat["passed"] += passed_at is not None
        stat["counting"] += bool(counted)
        stat["demoted"] += passed_at is not None and not counted
        stat["trusted"] += level == TrustLevel.TRUSTED
        stat["gold_answered"] += answered
        stat["gold_correct"] += correct
        stat["cast"] += cast
    lines = []
    for kind in KINDS:
        stat = stats[kind]
        if not stat["voters"]:
            continue
        lines.append(
            f"{kind:<11} {stat['voters']:>4} voters: passed training {stat['passed']:>4}, "
            f"counting at the end {stat['counting']:>4}, demoted {stat['demoted']:>3}, "
            f"trusted {stat['trusted']:>4}; per voter {stat['cast'] / stat['voters']:.0f} "
            f"answers, {stat['gold_answered'] / stat['voters']:.1f} gold"
        )
    return lines


def scenario_run(args: argparse.Namespace, adversarial: float) -> dict[str, Any]:
    from django_tasks.signals import task_finished

    from labels_app.models import ImageLabel
    from validations.models import Vote

    rng = random.Random(f"{args.seed}/{adversarial}")
    # Anything in the services that uses the module-level generator is seeded as well.
    random.seed(f"{args.seed}/{adversarial}/global")
    honest = 1 - adversarial - args.careless
    print(
        f"\n=== Adversarial {100 * adversarial:.0f} % (honest {100 * honest:.0f} %, careless "
        f"{100 * args.careless:.0f} %): {args.labels:,} image-labels, {args.gold} gold, "
        f"{args.voters} voters ==="
    )
    started = time.perf_counter()
    crowd = crowd_create(args, adversarial, rng)
    setup_seconds = time.perf_counter() - started
    recounts = RecountLog()
    task_finished.connect(recounts.on_finished, dispatch_uid="crowd_sim_recounts")
    try:
        started = time.perf_counter()
        log = crowd_vote(crowd, budget=args.votes_per_label * args.labels, rng=rng)
        vote_seconds = time.perf_counter() - started

        rows = list(
            ImageLabel.objects.filter(pk__in=crowd.item_ids).values_list(
                "pk", "yes_count", "no_count", "state", "counted_votes"
            )
        )
        majority = majority_outcome(rows, crowd.truth)
        consensus = consensus_outcome(rows, crowd.truth)
        decided_ids = {pk for pk, _y, _n, state, _c in rows if state != "open"}
        majority_on_same = majority_outcome(
            [row for row in rows if row[0] in decided_ids], crowd.truth
        )
        votes = Vote.objects.filter(contributor_id__in=[voter.pk for voter in crowd.voters])
        item_votes = votes.filter(on_gold=False).count()
        counted_votes = votes.filter(on_gold=False, counted=True).count()
        total = len(crowd.item_ids)

        print(f"stopped: {log.stop_reason} ({log.sweeps} re-checks of idle voters)")
        print(
            f"answers: {log.votes:,} ({log.gold_votes:,} on gold, {item_votes:,} on items, "
            f"{log.votes / total:.1f} per item); counted {counted_votes:,} = "
            f"{percent(counted_votes / item_votes if item_votes else None).strip()} of item answers"
        )
        if log.service_errors:
            print(f"service errors: {dict(log.service_errors)}")
        print(
            f"recounts: {recounts.runs} run, {recounts.failed} failed, "
            f"{recounts.flipped:,} votes flipped"
        )
        for error in recounts.errors:
            print(f"  recount error: {error}")
        for line in voters_report(crowd):
            print(f"  {line}")
        print(
            f"(a) plain majority : accuracy {percent(majority.accuracy)} over "
            f"{majority.decided:,} decided = {percent(majority.share(total))} decided"
        )
        print(
            f"(b) site consensus : accuracy {percent(consensus.accuracy)} over "
            f"{consensus.decided:,} decided = {percent(consensus.share(total))} decided "
            f"({consensus.decided - consensus.correct} wrong)"
        )
        print(f"    (a) on the items (b) decided: accuracy {percent(majority_on_same.accuracy)}")
        for line in wrong_decisions_explain(crowd, rows):
            print(f"  {line}")
        checks = [
            (
                f"(b) accuracy ≥ {100 * TARGET_ACCURACY:.0f} %",
                consensus.accuracy is not None and consensus.accuracy >= TARGET_ACCURACY,
            ),
            (
                f"(b) decided ≥ {100 * TARGET_DECIDED:.0f} %",
                consensus.share(total) >= TARGET_DECIDED,
            ),
            (
                "(b) more accurate than (a)",
                consensus.accuracy is not None
                and (majority.accuracy is None or consensus.accuracy > majority.accuracy),
            ),
        ]
        for name, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        print(
            f"runtime: setup {setup_seconds:.1f} s, voting {vote_seconds:.1f} s "
            f"({1000 * vote_seconds / max(1, log.votes):.2f} ms per answer incl. task selection)"
        )
        return {"adversarial": adversarial, "checks": checks, "seconds": vote_seconds}
    finally:
        task_finished.disconnect(dispatch_uid="crowd_sim_recounts")
        crowd_delete(crowd)


def shares_parse(text: str) -> list[float]:
    shares = [float(part) for part in text.split(",") if part.strip()]
    if not shares or any(not 0 <= share < 1 for share in shares):
        raise argparse.ArgumentTypeError("give shares between 0 and 1, e.g. 0.1,0.3")
    return shares


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=10_000, help="non-gold image-labels")
    parser.add_argument("--voters", type=int, default=500)
    parser.add_argument("--gold", type=int, default=200, help="gold image-labels")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--adversarial",
        type=shares_parse,
        default=[0.1, 0.3],
        help="comma-separated adversary shares, one scenario each (default 0.1,0.3)",
    )
    parser.add_argument("--careless", type=float, default=0.2, help="careless share (0.2)")
    parser.add_argument(
        "--yes-share", type=float, default=0.5, help="share of image-labels whose truth is yes"
    )
    parser.add_argument(
        "--votes-per-label",
        type=int,
        default=30,
        help="stop after this many answers per image-label on average (default 30)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="run on this database (must hold no image-labels) instead of a temp SQLite file",
    )
    return parser.parse_args()


def main() -> None:
    args = arguments_parse()
    # Progress and results as they happen, also when the output goes to a file.
    sys.stdout.reconfigure(line_buffering=True)
    # A plain `kill` should still remove the temporary data directory (finally below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    data_dir = Path(tempfile.mkdtemp(prefix="imagemonkey-crowd-"))
    try:
        environment_isolate(data_dir, args.database_url)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        from labels_app.models import ImageLabel

        # The immediate backend logs two lines per recount; they would bury the report.
        logging.getLogger("django_tasks").setLevel(logging.WARNING)
        call_command("migrate", verbosity=0, interactive=False)
        if ImageLabel.objects.exists():
            raise SystemExit(
                "The database already holds image-labels; they would be served as tasks too. "
                "Use an empty database."
            )
        print(
            f"Crowd simulation - Python {platform.python_version()}, "
            f"{connection.vendor} database, seed {args.seed}"
        )
        print(
            f"truth: yes with p={args.yes_share} (items and gold alike); voters answer yes/no "
            f"only; budget {args.votes_per_label} answers per item on average"
        )
        print("rules: " + ", ".join(f"{name}={getattr(settings, name)}" for name in SETTING_NAMES))
        results = [scenario_run(args, share) for share in args.adversarial]
        print("\n=== Verdict ===")
        for result in results:
            verdicts = "; ".join(
                f"{'PASS' if ok else 'FAIL'} {name}" for name, ok in result["checks"]
            )
            print(f"adversarial {100 * result['adversarial']:.0f} %: {verdicts}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
