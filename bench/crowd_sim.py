"""Simulation: can smart attackers, driven through the public HTTP API, flip the site's labels?

Every simulated person is a browser: one ``django.test.Client(enforce_csrf_checks=True)`` each
(own cookies, so own session and anonymous identity), with its network address as
``REMOTE_ADDR``. They take tasks from ``GET /api/validations/next/`` (or the grid), answer with
``POST /api/votes/`` (or ``/api/votes/batch/``), skip, read ``/api/image-labels/``,
``/api/images/{id}/labels/`` and ``/api/me/`` - and decide what to answer only from what those
responses contain, plus the truth of the photo, which a person sees by looking (the simulation
made the items, so it knows). The people are in ``bench/crowd_people.py``. Nothing of the
site's rules is re-implemented; votes count only on tasks the server handed to that identity,
so refusals (409 ``not_served`` and others) are counted and reported.

Seeding uses the ORM, not the API: ``--items`` image-labels (1,000) on cheap unlocked image rows,
spread over ``--labels`` labels (5), each with a hidden truth ("yes" with ``--yes-share``, 0.5);
``--gold`` more (100) made gold with the real ``gold_mark``, half training, half hidden.
The community existed before the attack: right after each member's first write (which creates
their anonymous contributor, or at sign-up) the script sets that contributor's ``created_at`` to
30-365 days ago, the attackers among them too (the harder case); only sybils are new.
Community members are on distinct networks (one /24 each), except that one honest voter in ten
shares an address with another (a household).

The crowds (``--scenarios``, all by default), each ``--voters`` people (200), 20 % careless
(right with p=0.6), the rest honest (p=0.9) except ``--attackers`` (30 %) of them:

* ``none``: no attackers.
* ``sleeper-training``: honest (and careful, p=0.97) until the vote response says
  ``feedback.training_passed``, then wrong on everything but the gold they know from feedback.
* ``sleeper-trusted``: the same, but they sign up for an account (anonymous identities get no
  ``/api/me/``) and wait until ``/api/me/`` shows trust level 2; if it shows none, they wait
  ``--trusted-wait`` answers (150). Trust takes hundreds of answers (30 gold answers at a high
  bound, while hidden gold comes at a decaying rate), so this scenario first runs a warm-up,
  the site's history before the attack: a separate pool of warm-up items (made like the
  measured ones, with a truth, never measured; the measured items wait as pending images
  meanwhile) arrives in batches of ``WARMUP_BATCH`` while the whole community answers it
  honestly in a random interleaving - each sleeper until ``/api/me/`` shows it trusted or at
  ``--warmup-answers`` (600), each honest or careless member up to ``--warmup-regular`` (300)
  answers, regulars whose weights the site has long settled (an honest voter's gold and
  agreement estimates change little after 300 answers), at most ``--warmup-items`` items
  (6,000). What is still open then is withdrawn (its images removed, as a moderator would),
  the measured items are unlocked, and the sleepers read ``/api/me/`` at their first step and
  turn hostile if trusted. ``--warmup-answers 0`` skips the warm-up. A demotion takes back
  every answer of the demoted, warm-up ones included, so decided warm-up items reopen and
  the community answers them again: those answers are printed beside the budget, which is
  for the measured items.
* ``sleeper-comeback``: hostile after training; when ``/api/me/`` shows a demotion (level 0)
  they go quiet for ``--quiet-steps`` (400) other people's steps, come back honest until it shows
  them counting again (at most 40 answers), then hostile again. Without a level shown: quiet
  after every 30 hostile answers.
* ``ring``: a gold-aware ring pooling training feedback (``feedback.expected``), which ids were
  served to whom, the listing and each served item's numbers; right on known or likely gold
  (served to 2.5 times as many members as the average item, decided yet still served, or 2.5
  times the answers of the median open item) and on everything while in training, wrong on the
  rest; 5 % of its tasks also try a vote on a listed id it was not served.
* ``sybil``: the community without attackers plus ``--sybils`` (150) fresh anonymous identities
  from ``--sybil-networks`` (4) /24s (a distinct address each), trained with their pooled memory,
  then "no" on every item of one target label they are handed (grid + batch votes, except items
  that look like checks) and honest elsewhere, ``--sybil-answers`` (40) answers each.
* ``pileon``: colluders, honest until training passes, pick ``--pileon-items`` (50) open items of
  one label from the listing and hunt them (next task with ``?label=``, skipping others), all
  voting the wrong answer; 20 % of their steps also try a vote on a chosen id directly.

People act in a random interleaving; the run stops after ``--answers-per-item`` (20) community
answers per item on average (gold included, sybil answers aside: sybils have their own budget),
when the queue is empty, or when nobody gets a task any more. After each answer per item a line
shows where the site and the plain majority stand, so one run also answers "what after 6?". The
budget is 20, not the 5-8 of issue 9, because the rules since 996b166 decide nothing before
about 14 answers per item even without attackers: a new record weighs 0.69 (agreement prior),
so an item needs about seven counted votes. Recounts run at once (the immediate tasks backend)
and rate limits are off (``RATELIMIT_ENABLE=false``).

Measured over the non-gold items, beside a plain-majority baseline (raw ``yes_count`` against
``no_count`` of the final rows, ties undecided): the site's decided-label accuracy and decided
share; for ``sybil`` the share of the target label's true-"yes" items decided "no" (flipped), for
``pileon`` the share of chosen items decided wrong; refused requests by reason; per kind of person
what they did and where they stand; which kinds' counted votes put wrong decisions over the line;
what the attackers' pooled memory learned (gold known, likely-gold guesses and their precision).

Targets (issue 9): ``none`` at least 99.5 % accurate; with attackers at least 98 %; at least 90 %
decided everywhere; flipped (sybil) and chosen items decided wrong (pile-on) at most 2 %. It is a
simulation, not a test: the exit code is always 0 and the verdict is printed.

The site's rules are read from the settings as usual, so other values can be tried without
touching code, e.g. ``CONSENSUS_DECISIVE_PROBABILITY=0.999 .venv/bin/python bench/crowd_sim.py``.
Everything runs in a throw-away data directory (SQLite database, secret key) removed at the end;
``--database-url`` runs on another database (it must hold no image-labels), and only the rows the
simulation created are deleted afterwards.

Run from the repository root::

    .venv/bin/python bench/crowd_sim.py [--scenarios none,ring,sybil --seed 1 --items 1000]

Each answer is two requests through the whole stack (18-25 ms each on SQLite on a 2-core
machine, more for a ring member, who also looks items up). At the default size a scenario makes
35-50k requests and takes 12-15 minutes alone; all seven take about 1 h 40 min, or under an hour
as two processes with ``--scenarios`` split between them. ``--items 200 --voters 40 --gold 40
--sybils 30`` keeps the proportions and takes 2-5 minutes a scenario; ``sleeper-trusted``
spends most of its time in the warm-up (about 20k answers at ``--voters 60``, 6-8 minutes).
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
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
TARGET_ACCURACY_CLEAN = 0.995
TARGET_ACCURACY = 0.98
TARGET_DECIDED = 0.90
TARGET_FLIPPED = 0.02
PROGRESS_EVERY = 1_000
HOUSEHOLD_SHARE = 0.1  # honest voters sharing an address with another one
# A server error is a bug in the site, not a person's doing: a few are reported, many abort.
MAX_SERVER_ERRORS = 100
MAX_SWEEPS = 20
# Warm-up items arrive in batches of this many, whenever fewer than half a batch is open.
WARMUP_BATCH = 100
WARMUP_CHECK_EVERY = 20  # steps between looks at how many warm-up items are open
SETTING_NAMES = (
    "TRAINING_MIN_GOLD",
    "TRAINING_ACCURACY_BOUND",
    "TRAINING_GOLD_MAX_TRAINEES",
    "GOLD_RATE_TRAINING",
    "GOLD_RATE_AFTER_TRAINING",
    "GOLD_RATE_FLOOR",
    "TRUST_TRUSTED_MIN_GOLD",
    "TRUST_TRUSTED_ACCURACY_BOUND",
    "CONSENSUS_MAX_VOTE_WEIGHT",
    "CONSENSUS_DECISIVE_PROBABILITY",
    "RECHECK_RATE",
    "AGREEMENT_ALARM_LIMIT",
    "RELIABILITY_DEMOTE_BELOW",
    "CONSENSUS_ESTABLISHED_DAYS",
    "CONSENSUS_ESTABLISHED_EVIDENCE",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    attacker: str = ""  # the kind of person making up --attackers of the community
    wake: str = ""  # sleepers: when they turn hostile
    sybils: bool = False
    warmup: bool = False  # the community answers a warm-up pool before the measured items


def scenarios_all() -> dict[str, Scenario]:
    from crowd_people import COLLUDER, RING, SLEEPER

    return {
        scenario.name: scenario
        for scenario in (
            Scenario("none", "no attackers"),
            Scenario(
                "sleeper-training", "sleepers hostile once training passes", SLEEPER, "training"
            ),
            Scenario(
                "sleeper-trusted",
                "sleepers hostile once trusted",
                SLEEPER,
                "trusted",
                warmup=True,
            ),
            Scenario(
                "sleeper-comeback", "sleepers who go quiet and come back", SLEEPER, "comeback"
            ),
            Scenario("ring", "a gold-aware ring pooling all it sees", RING),
            Scenario("sybil", "a sybil flood against one label", sybils=True),
            Scenario("pileon", "colluders piling on chosen items", COLLUDER),
        )
    }


def environment_isolate(data_dir: Path, database_url: str | None) -> None:
    """Point the settings at a throw-away data directory; must run before ``django.setup()``."""
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{data_dir / 'crowd.sqlite3'}"
    # Recounts are enqueued on commit; the immediate backend runs them right there, as a
    # worker would shortly after, so promotions and demotions take effect during the run.
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    # Thousands of answers a minute from a few networks would trip the rate limits.
    os.environ["RATELIMIT_ENABLE"] = "false"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagemonkey_site.settings"
    # A developer's shell may point these at shared services, or read addresses from a proxy
    # header instead of REMOTE_ADDR.
    for name in ("REDIS_URL", "S3_BUCKET", "MEDIA_ROOT", "BEHIND_HTTPS_PROXY", "ALLOWED_HOSTS"):
        os.environ.pop(name, None)
    for path in (REPO_ROOT, BENCH_DIR):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


@dataclass
class Crowd:
    """The rows one scenario created, and the truth only the simulation knows."""

    label_ids: list[int]
    label_names: list[str]
    donor_id: int
    image_ids: list[Any]
    item_ids: list[int]  # the non-gold image-labels that are measured
    gold_ids: list[int]
    hidden_gold_ids: list[int]
    truth: dict[int, str]  # image-label id -> "yes"/"no", gold included
    label_of: dict[int, str]  # image-label id -> label name
    tag: str = ""
    warmup_ids: list[int] = field(default_factory=list)  # never measured


def items_create(
    *, tag: str, first: int, count: int, labels: list, donor: Any, rng: random.Random
) -> list:
    """`count` image-labels on cheap unlocked image rows, spread over the labels in turn."""
    from donations.models import Image, ImageStatus
    from labels_app.models import ImageLabel

    images = []
    for index in range(first, first + count):
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
    for index, image in zip(range(first, first + count), images, strict=True):
        # The sampling key from the seeded generator; a fresh item's rank is 0.
        key = rng.random()
        rows.append(
            ImageLabel(
                image=image,
                label=labels[index % len(labels)],
                added_by=donor,
                in_queue=True,
                random_key=key,
                sort_key=key,
            )
        )
    ImageLabel.objects.bulk_create(rows, batch_size=2000)
    return images


def crowd_seed(args: argparse.Namespace, scenario: Scenario, rng: random.Random) -> Crowd:
    """Labels, images, image-labels and gold as cheap rows (no files are needed)."""
    from contributors.models import Contributor
    from donations.models import Image, ImageStatus
    from labels_app.models import Answer, GoldPool, ImageLabel, Label
    from validations.services import gold_mark

    tag = f"{scenario.name} {args.seed} {rng.getrandbits(24):06x}"
    donor = Contributor.objects.create()
    labels = [
        Label.objects.create(
            name=f"crowdsim {tag} thing{index}",
            plural=f"crowdsim {tag} things{index}",
            description="A label made by bench/crowd_sim.py.",
            group="bench",
        )
        for index in range(args.labels)
    ]
    images = items_create(
        tag=tag, first=0, count=args.items + args.gold, labels=labels, donor=donor, rng=rng
    )
    found = ImageLabel.objects.filter(label__in=labels).order_by("pk")
    label_of = dict(found.values_list("pk", "label__name"))
    ids = list(label_of)
    rng.shuffle(ids)
    item_ids, gold_ids = ids[: args.items], ids[args.items :]
    truth = {pk: Answer.YES if rng.random() < args.yes_share else Answer.NO for pk in ids}
    # Half the gold teaches newcomers (with feedback), half checks everyone silently.
    hidden = []
    for index, image_label in enumerate(ImageLabel.objects.filter(pk__in=gold_ids)):
        pool = GoldPool.TRAINING if index % 2 == 0 else GoldPool.HIDDEN
        gold_mark(image_label=image_label, answer=truth[image_label.pk], pool=pool, by=None)
        if pool == GoldPool.HIDDEN:
            hidden.append(image_label.pk)
    if scenario.warmup and args.warmup_answers > 0:
        # Donated later: pending review (out of the queue) until the warm-up is over.
        held = ImageLabel.objects.filter(pk__in=item_ids)
        Image.objects.filter(pk__in=held.values("image_id")).update(status=ImageStatus.PENDING)
        held.update(in_queue=False)
    return Crowd(
        label_ids=[label.pk for label in labels],
        label_names=[label.name for label in labels],
        donor_id=donor.pk,
        image_ids=[image.pk for image in images],
        item_ids=item_ids,
        gold_ids=gold_ids,
        hidden_gold_ids=hidden,
        truth=truth,
        label_of=label_of,
        tag=tag,
    )


def kinds_assign(args: argparse.Namespace, attacker: str, rng: random.Random) -> list[str]:
    """Exact numbers per kind (rounded), shuffled so creation order says nothing."""
    from crowd_people import CARELESS, HONEST

    n_attackers = round(args.voters * args.attackers) if attacker else 0
    n_careless = round(args.voters * args.careless)
    n_honest = args.voters - n_attackers - n_careless
    if n_honest < 0:
        raise SystemExit("The careless and attacker shares add up to more than 100 %.")
    kinds = [HONEST] * n_honest + [CARELESS] * n_careless + [attacker] * n_attackers
    rng.shuffle(kinds)
    return kinds


class AddressBook:
    """Network addresses: one /24 each for the community, a few /24s for the sybils."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[tuple[int, int, int]] = set()

    def network(self, first_octets: tuple[int, ...]) -> tuple[int, int, int]:
        while True:
            net = (self.rng.choice(first_octets), self.rng.randrange(256), self.rng.randrange(256))
            if net not in self.used:
                self.used.add(net)
                return net

    def person(self) -> str:
        a, b, c = self.network((31, 46, 62, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90))
        return f"{a}.{b}.{c}.{self.rng.randrange(2, 255)}"

    def sybils(self, count: int, networks: int) -> list[str]:
        nets = [self.network((45, 104, 139, 172, 185)) for _ in range(networks)]
        return [
            f"{a}.{b}.{c}.{2 + index // networks}"
            for index, (a, b, c) in ((i, nets[i % networks]) for i in range(count))
        ]


def people_create(args: argparse.Namespace, scenario: Scenario, world: Any, rng: random.Random):
    from crowd_people import (
        COLLUDER,
        HONEST,
        RING,
        SLEEPER,
        Browser,
        Colluder,
        Memory,
        RingMember,
        Sleeper,
        Sybil,
        Voter,
    )

    addresses = AddressBook(rng)
    kinds = kinds_assign(args, scenario.attacker, rng)
    community_addresses = [addresses.person() for _ in kinds]
    honest = [index for index, kind in enumerate(kinds) if kind == HONEST]
    for index in rng.sample(honest, round(len(honest) * HOUSEHOLD_SHARE)):
        community_addresses[index] = community_addresses[rng.choice(honest)]
    memory = Memory()
    people = []
    for member, (kind, address) in enumerate(zip(kinds, community_addresses, strict=True)):
        common = {
            "browser": Browser(address=address, kind=kind, world=world),
            "world": world,
            "rng": random.Random(rng.random()),
            "aged": True,
        }
        if kind == SLEEPER:
            people.append(Sleeper(wake=scenario.wake, **common))
        elif kind == RING:
            people.append(RingMember(memory=memory, member=member, **common))
        elif kind == COLLUDER:
            people.append(Colluder(**common))
        else:
            people.append(Voter(kind=kind, **common))
    if scenario.sybils:
        sybil_memory = Memory()
        for member, address in enumerate(addresses.sybils(args.sybils, args.sybil_networks)):
            sybil = Sybil(
                memory=sybil_memory,
                member=member,
                browser=Browser(address=address, kind="sybil", world=world),
                world=world,
                rng=random.Random(rng.random()),
                aged=False,
            )
            sybil.budget = args.sybil_answers
            people.append(sybil)
    return people


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
        elif isinstance(task_result.return_value, int):
            self.flipped += task_result.return_value


@dataclass
class RunLog:
    answers: int = 0
    community_answers: int = 0
    history_answers: int = 0  # the community's, on warm-up items reopened by recounts
    sweeps: int = 0
    stop_reason: str = ""


def checkpoint_print(crowd: Crowd, answers_per_item: int, seconds: float) -> None:
    """How far the site and the plain majority got after this many answers per item."""
    rows = item_rows(crowd)
    site = outcome(rows, crowd.truth, by_site)
    majority = outcome(rows, crowd.truth, by_majority)
    print(
        f"  after {answers_per_item:>2} answers per item ({seconds:4.0f} s): site decided "
        f"{percent(site.share)} at {percent(site.accuracy)}; majority decided "
        f"{percent(majority.share)} at {percent(majority.accuracy)}"
    )


def crowd_run(people: list, world: Any, crowd: Crowd, budget: int) -> RunLog:
    """Let random people take a step until the community's budget is spent or nobody gets a
    task. A person who gets none is set aside; once all are, each gets another turn (a recount
    or re-check can reopen items), and the run stops when a whole turn stored nothing. Prints
    where the site stands after each answer per item."""
    from crowd_people import SYBIL

    from validations.models import ValidationQuestion

    log = RunLog()
    queue = ValidationQuestion.objects.filter(label_id__in=crowd.label_ids, in_queue=True)
    if crowd.warmup_ids:  # warm-up items a recount reopened are not what is measured
        queue = queue.filter(pk__in=crowd.item_ids)
    active, idle, resting = list(people), [], []
    answers_at_sweep = -1
    started = time.perf_counter()
    next_progress = PROGRESS_EVERY
    next_checkpoint = 1
    while True:
        if log.community_answers >= next_checkpoint * len(crowd.item_ids):
            checkpoint_print(crowd, next_checkpoint, time.perf_counter() - started)
            next_checkpoint += 1
        if log.community_answers >= budget:
            log.stop_reason = f"budget spent ({budget:,} community answers)"
            break
        if len(world.server_errors) > MAX_SERVER_ERRORS:
            log.stop_reason = f"aborted after {MAX_SERVER_ERRORS} server errors"
            break
        if resting and min(p.resting_until for p in resting) <= world.step:
            active += [p for p in resting if p.resting_until <= world.step]
            resting = [p for p in resting if p.resting_until > world.step]
        if not active:
            if resting:  # only quiet people left: let their time pass
                world.step = min(p.resting_until for p in resting)
                continue
            if not idle:
                log.stop_reason = "everyone spent their answers"
                break
            if not queue.exists():
                log.stop_reason = "nobody gets a task: every item decided (queue empty)"
                break
            if log.answers == answers_at_sweep or log.sweeps >= MAX_SWEEPS:
                log.stop_reason = "nobody gets a task any more"
                break
            log.sweeps += 1
            answers_at_sweep = log.answers
            active, idle = idle, []
        index = world.rng.randrange(len(active))
        person = active[index]
        history_before = world.history_answers
        stored = person.step()
        world.step += 1
        if stored is None:
            active[index] = active[-1]
            active.pop()
            idle.append(person)
            continue
        log.answers += stored
        if person.kind != SYBIL:
            # The budget is for the measured items; answers on reopened history go beside it.
            on_history = world.history_answers - history_before
            log.community_answers += stored - on_history
            log.history_answers += on_history
        if (person.budget is not None and person.answers >= person.budget) or (
            person.resting_until > world.step
        ):
            active[index] = active[-1]
            active.pop()
            if person.resting_until > world.step:
                resting.append(person)
        if log.answers >= next_progress:
            next_progress += PROGRESS_EVERY
            elapsed = time.perf_counter() - started
            print(
                f"    … {log.answers:,} answers in {elapsed:.0f} s "
                f"({1000 * elapsed / log.answers:.1f} ms each), {queue.count():,} items in queue",
                file=sys.stderr,
                flush=True,
            )
    return log


@dataclass
class WarmupLog:
    answers: int = 0
    items: int = 0
    batches: int = 0
    decided: int = 0
    withdrawn: int = 0
    made_gold: int = 0
    seconds: float = 0.0
    stop_reason: str = ""
    pools: str = ""


def warmup_seed(crowd: Crowd, count: int, yes_share: float, rng: random.Random) -> None:
    """One batch of warm-up items, made like the measured ones (truth "yes" with the same
    share), on the same labels."""
    from contributors.models import Contributor
    from labels_app.models import Answer, ImageLabel, Label

    labels = list(Label.objects.filter(pk__in=crowd.label_ids).order_by("pk"))
    donor = Contributor.objects.get(pk=crowd.donor_id)
    first = len(crowd.image_ids)
    images = items_create(
        tag=crowd.tag, first=first, count=count, labels=labels, donor=donor, rng=rng
    )
    crowd.image_ids += [image.pk for image in images]
    new = dict(
        ImageLabel.objects.filter(image__in=images).order_by("pk").values_list("pk", "label__name")
    )
    for pk in new:
        crowd.truth[pk] = Answer.YES if rng.random() < yes_share else Answer.NO
    crowd.label_of.update(new)
    crowd.warmup_ids += list(new)


def warmup_run(args: argparse.Namespace, people: list, world: Any, crowd: Crowd) -> WarmupLog:
    """The site's history before the attack: the community answers warm-up items honestly in
    a random interleaving, each sleeper until /api/me/ shows it trusted or at
    ``--warmup-answers``, each other member up to ``--warmup-regular`` answers. Items arrive
    in batches as the open ones run low; what is open at the end is withdrawn (its images
    removed), then the measured items are unlocked."""
    from crowd_people import SLEEPER, SYBIL

    from donations.models import Image, ImageStatus
    from labels_app.models import ImageLabel
    from validations.models import ValidationQuestion
    from validations.services import questions_open_on_unlock

    rng = random.Random(f"{args.seed}/{crowd.tag}/warmup")
    log = WarmupLog()
    world.phase, world.warmed = "warmup", True
    started = time.perf_counter()
    open_items = ValidationQuestion.objects.filter(label_id__in=crowd.label_ids, in_queue=True)

    def warmed_up(person) -> bool:
        if person.kind == SLEEPER:
            return person.trusted_seen_at is not None or person.answers >= args.warmup_answers
        return person.answers >= args.warmup_regular

    def batch_add() -> bool:
        count = min(WARMUP_BATCH, args.warmup_items - log.items)
        if count <= 0:
            return False
        warmup_seed(crowd, count, args.yes_share, rng)
        log.items += count
        log.batches += 1
        return True

    active = [p for p in people if p.kind != SYBIL and not warmed_up(p)]
    since_check = WARMUP_CHECK_EVERY
    next_progress = PROGRESS_EVERY
    log.stop_reason = "everyone warmed up (sleepers trusted or at the cap, regulars at theirs)"
    while active:
        if len(world.server_errors) > MAX_SERVER_ERRORS:
            log.stop_reason = f"aborted after {MAX_SERVER_ERRORS} server errors"
            break
        if since_check >= WARMUP_CHECK_EVERY:
            since_check = 0
            if open_items.count() < WARMUP_BATCH // 2:
                batch_add()
        index = world.rng.randrange(len(active))
        person = active[index]
        stored = person.step()
        world.step += 1
        since_check += 1
        if stored is None and batch_add():  # seen everything open: the next batch comes
            stored = person.step()
            world.step += 1
        if stored is None or warmed_up(person):
            if stored is None:
                world.events[(person.kind, "warm-up: no task (pool used up)")] += 1
                log.stop_reason = (
                    f"everyone warmed up or out of tasks (all {log.items:,} warm-up items used)"
                )
            active[index] = active[-1]
            active.pop()
        log.answers += stored or 0
        if log.answers >= next_progress:
            next_progress += PROGRESS_EVERY
            elapsed = time.perf_counter() - started
            print(
                f"    … warm-up: {log.answers:,} answers in {elapsed:.0f} s, "
                f"{log.items:,} items, {len(active)} people still warming up",
                file=sys.stderr,
                flush=True,
            )
    rows = ImageLabel.objects.filter(pk__in=crowd.warmup_ids)
    log.decided = rows.exclude(state="open").count()
    log.made_gold = rows.exclude(gold_answer="").count()
    left = rows.filter(state="open")
    log.withdrawn = left.count()
    Image.objects.filter(pk__in=left.values("image_id")).update(status=ImageStatus.REMOVED)
    ImageLabel.objects.filter(pk__in=crowd.warmup_ids, state="open").update(in_queue=False)
    world.history_ids = frozenset(crowd.warmup_ids)
    log.pools = gold_pools_all(crowd)
    for person in people:
        person.warmup_answers = person.answers
    # The measured items: unlocked now, so their labels join the queue (the site's own path).
    held = ImageLabel.objects.filter(pk__in=crowd.item_ids)
    held_ids = list(held.values_list("image_id", flat=True))
    Image.objects.filter(pk__in=held_ids).update(status=ImageStatus.UNLOCKED)
    questions_open_on_unlock(images=Image.objects.filter(pk__in=held_ids))
    world.phase = "measured"
    log.seconds = time.perf_counter() - started
    return log


def gold_pools_all(crowd: Crowd) -> str:
    """Gold items of the scenario's labels by pool (seeded and topped up by the site)."""
    from labels_app.models import ImageLabel

    pools = Counter(
        ImageLabel.objects.filter(label_id__in=crowd.label_ids)
        .exclude(gold_answer="")
        .values_list("gold_pool", flat=True)
    )
    return ", ".join(f"{k} {v}" for k, v in sorted(pools.items())) or "none"


def warmup_report(log: WarmupLog, people: list) -> list[str]:
    from crowd_people import SLEEPER

    lines = [
        f"warm-up: {log.answers:,} answers in {log.seconds:.0f} s; {log.items:,} items in "
        f"{log.batches} batches, {log.decided:,} decided, {log.made_gold} made gold by the "
        f"site, {log.withdrawn} open ones withdrawn; gold pools after it: {log.pools}",
        f"  stopped: {log.stop_reason}",
    ]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for person in people:
        by_kind[person.kind].append(person.warmup_answers)
    lines.append(
        "  warm-up answers per person: "
        + ", ".join(
            f"{kind} {sum(n) / len(n):.0f} (min {min(n)}, max {max(n)})"
            for kind, n in by_kind.items()
        )
    )
    sleepers = [p for p in people if p.kind == SLEEPER]
    if sleepers:
        trusted = [p.trusted_seen_at for p in sleepers if p.trusted_seen_at is not None]
        lines.append(
            f"  sleepers trusted in the warm-up: {len(trusted)} of {len(sleepers)}"
            + (
                f", after {sum(trusted) / len(trusted):.0f} answers on average (min "
                f"{min(trusted)}, max {max(trusted)})"
                if trusted
                else ""
            )
        )
    return lines


# --- Measuring ------------------------------------------------------------------------------


@dataclass
class Outcome:
    decided: int
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.decided if self.decided else None

    @property
    def share(self) -> float:
        return self.decided / self.total if self.total else 0.0


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:6.2f} %"


def majority_of(yes: int, no: int) -> str | None:
    return None if yes == no else ("yes" if yes > no else "no")


def site_of(state: str) -> str | None:
    return {"confirmed": "yes", "rejected": "no"}.get(state)


def outcome(rows: list[tuple], truth: dict[int, str], decide) -> Outcome:
    decisions = [(pk, decide(row)) for pk, *row in rows]
    decided = [(pk, d) for pk, d in decisions if d is not None]
    return Outcome(
        decided=len(decided),
        correct=sum(d == truth[pk] for pk, d in decided),
        total=len(rows),
    )


def item_rows(crowd: Crowd) -> list[tuple]:
    """(pk, yes_count, no_count, state) of the measured items, from the final rows."""
    from labels_app.models import ImageLabel

    return list(
        ImageLabel.objects.filter(pk__in=crowd.item_ids).values_list(
            "pk", "yes_count", "no_count", "state"
        )
    )


def by_majority(row: tuple) -> str | None:
    return majority_of(row[0], row[1])


def by_site(row: tuple) -> str | None:
    return site_of(row[2])


def kind_of_contributor(people: list) -> dict[int, str]:
    return {p.contributor_id: p.kind for p in people if p.contributor_id is not None}


def wrong_decisions_explain(crowd: Crowd, rows: list[tuple], people: list) -> list[str]:
    """Which counted votes put the wrongly decided items over the threshold."""
    from validations.models import Vote

    kind_of = kind_of_contributor(people)
    kinds = sorted(set(kind_of.values()))
    wrong = {pk for pk, _y, _n, state in rows if site_of(state) not in (None, crowd.truth[pk])}
    right = {pk for pk, _y, _n, state in rows if site_of(state) == crowd.truth[pk]}
    counted = defaultdict(list)
    for item, contributor, answer, weight in Vote.objects.filter(
        image_label_id__in=crowd.item_ids, counted=True
    ).values_list("image_label_id", "contributor_id", "answer", "weight"):
        counted[item].append((kind_of.get(contributor, "other"), answer, weight))

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
    for item in wrong:
        for kind, answer, weight in counted[item]:
            if answer != crowd.truth[item]:
                wrong_votes[kind] += 1
                wrong_evidence[kind] += weight
            else:
                right_votes[kind] += 1
    total_evidence = sum(wrong_evidence.values()) or 1.0
    lines.append(
        "wrong-way counted votes on wrong items by kind: "
        + ", ".join(
            f"{kind} {wrong_votes[kind]} ({100 * wrong_evidence[kind] / total_evidence:.0f} % "
            "of their weight)"
            for kind in kinds
            if wrong_votes[kind]
        )
    )
    lines.append(
        "right-way counted votes on wrong items by kind: "
        + (", ".join(f"{kind} {right_votes[kind]}" for kind in kinds if right_votes[kind]) or "-")
    )
    weights = [w for item in wrong for _k, a, w in counted[item] if a != crowd.truth[item]]
    if weights:
        lines.append(
            f"weight of wrong-way counted votes on wrong items: mean "
            f"{sum(weights) / len(weights):.2f}, min {min(weights):.2f}, max {max(weights):.2f}"
        )
    return lines


def open_items_explain(crowd: Crowd, rows: list[tuple], people: list) -> list[str]:
    """What holds the items the site left open: their votes by kind and counting, and the
    evidence rules they are short of."""
    from labels_app.models import ImageLabel
    from validations.models import Vote

    kind_of = kind_of_contributor(people)
    still_open = {pk for pk, _y, _n, state in rows if site_of(state) is None}
    if not still_open:
        return []
    votes: Counter = Counter()
    for contributor, counted, weighed in Vote.objects.filter(
        image_label_id__in=still_open
    ).values_list("contributor_id", "counted", "weight"):
        state = "weighed" if weighed > 0 else "counted at 0" if counted else "not counted"
        votes[(kind_of.get(contributor, "other"), state)] += 1
    facts = ImageLabel.objects.filter(pk__in=still_open).values_list(
        "evidence", "established_evidence", "counted_votes", "in_queue"
    )
    decisive_but_not_established = sum(
        abs(evidence) >= 4.6 and abs(established) < 1.0 for evidence, established, _c, _q in facts
    )
    mean = sum(abs(evidence) for evidence, *_ in facts) / len(facts)
    counted = sum(c for _e, _s, c, _q in facts) / len(facts)
    in_queue = sum(q for *_rest, q in facts)
    return [
        f"open items ({len(still_open):,}): {in_queue:,} in the queue; mean |evidence| "
        f"{mean:.2f}, mean counted votes {counted:.1f}; decisive but short of established "
        f"evidence {decisive_but_not_established:,}",
        "votes on open items: "
        + ", ".join(f"{kind} {state} {count:,}" for (kind, state), count in sorted(votes.items())),
    ]


def people_report(people: list, crowd: Crowd) -> list[str]:
    """Per kind: what they did (answers, hostile ones) and where the site put them; for
    sleepers also when they were seen trusted and how far they got before a demotion."""
    from contributors.models import Contributor, TrustLevel

    kind_of = kind_of_contributor(people)
    stats: dict[str, Counter] = defaultdict(Counter)
    for person in people:
        stat = stats[person.kind]
        stat["people"] += 1
        stat["answers"] += person.answers
        stat["hostile"] += person.hostile_answers
        stat["turned"] += person.hostile_answers > 0
        stat["requests"] += person.browser.requests
        stat["warmup"] += person.warmup_answers
    optional = [
        name
        for name in ("demoted_at", "reliability")
        if any(f.name == name for f in Contributor._meta.get_fields())
    ]
    fields = ["pk", "training_passed_at", "votes_counted", "trust_level", "gold_answered"]
    demoted_at = {}
    for row in Contributor.objects.filter(pk__in=list(kind_of)).values(*fields, *optional):
        demoted_at[row["pk"]] = row.get("demoted_at")
        stat = stats[kind_of[row["pk"]]]
        passed = row["training_passed_at"] is not None
        stat["passed"] += passed
        stat["counting"] += bool(row["votes_counted"])
        stat["demoted"] += passed and not row["votes_counted"]
        stat["trusted"] += row["trust_level"] == TrustLevel.TRUSTED
        stat["gold"] += row["gold_answered"]
        if row.get("demoted_at") is not None:
            stat["ever demoted"] += 1
    lines = []
    for kind, stat in stats.items():
        people_count = stat["people"]
        line = (
            f"{kind:<9} {people_count:>4}: passed training {stat['passed']:>4}, counting at the "
            f"end {stat['counting']:>4}, passed but not counting {stat['demoted']:>3}, trusted "
            f"{stat['trusted']:>3}; {stat['answers'] / people_count:.0f} answers each "
            + (f"({stat['warmup'] / people_count:.0f} in the warm-up, " if stat["warmup"] else "(")
            + f"{stat['gold'] / people_count:.1f} gold)"
        )
        if stat["hostile"]:
            line += f"; {stat['turned']} gave {stat['hostile']:,} hostile answers in all"
        if "demoted_at" in optional:
            line += f", ever demoted {stat['ever demoted']}"
        lines.append(line)
    lines += sleepers_report(people, crowd, demoted_at)
    return lines


def sleepers_report(people: list, crowd: Crowd, demoted_at: dict) -> list[str]:
    """Sleepers: how many /api/me/ showed trusted and after how many answers; how many
    hostile answers (wrong on purpose, from the vote rows) each gave before its demotion."""
    from crowd_people import SLEEPER

    from validations.models import Vote

    sleepers = [p for p in people if p.kind == SLEEPER and p.contributor_id is not None]
    if not sleepers:
        return []
    trusted = [p for p in sleepers if p.trusted_seen_at is not None]
    in_warmup = [p for p in trusted if p.trusted_seen_at <= p.warmup_answers and p.warmup_answers]
    lines = []
    if any(p.wake == "trusted" for p in sleepers):
        lines.append(
            f"sleeper trust: /api/me/ showed trusted to {len(trusted)} of {len(sleepers)} "
            f"({len(in_warmup)} in the warm-up)"
            + (
                f" after {statistics.mean(p.trusted_seen_at for p in trusted):.0f} answers on "
                f"average (min {min(p.trusted_seen_at for p in trusted)}, max "
                f"{max(p.trusted_seen_at for p in trusted)}; read every 5 answers)"
                if trusted
                else ""
            )
        )
    woke = [p for p in sleepers if p.woke_at is not None]
    before: list[int] = []  # hostile answers before the demotion, per demoted sleeper
    undemoted: list[int] = []  # hostile answers of those never demoted after waking
    for person in woke:
        demoted = demoted_at.get(person.contributor_id)
        votes = Vote.objects.filter(contributor_id=person.contributor_id)
        votes = votes.filter(created_at__gte=person.woke_at)
        hostile = [
            created
            for pk, answer, created in votes.values_list("image_label_id", "answer", "created_at")
            if answer != crowd.truth.get(pk, answer)
        ]
        if demoted is not None and demoted >= person.woke_at:
            before.append(sum(created < demoted for created in hostile))
        else:
            undemoted.append(len(hostile))
    line = f"sleeper hostility: {len(woke)} turned hostile"
    if before:
        line += (
            f"; {len(before)} demoted after {statistics.mean(before):.1f} hostile answers on "
            f"average (median {statistics.median(before):g}, min {min(before)}, max "
            f"{max(before)}; {sum(before):,} in all before demotion)"
        )
    if undemoted:
        line += (
            f"; {len(undemoted)} never demoted, with {sum(undemoted):,} hostile answers "
            f"({max(undemoted)} at most)"
        )
    lines.append(line)
    return lines


def memory_report(people: list, crowd: Crowd) -> list[str]:
    """What a pooled memory learned about gold, and how good its guesses were."""
    lines = []
    gold, hidden = set(crowd.gold_ids), set(crowd.hidden_gold_ids)
    memories = {id(p.memory): (p.kind, p.memory) for p in people if hasattr(p, "memory")}
    for kind, memory in memories.values():
        suspected = memory.suspected
        hits = len(suspected & gold)
        lines.append(
            f"{kind} memory: {len(memory.gold)} gold answers learned from feedback "
            f"({sum(crowd.truth[pk] == a for pk, a in memory.gold.items())} right); "
            f"{len(suspected)} items taken for likely gold, {hits} of them gold "
            f"(precision {percent(hits / len(suspected) if suspected else None).strip()}, "
            f"{len(suspected & hidden)} of {len(hidden)} hidden gold found)"
        )
    return lines


def gold_pool_report(crowd: Crowd) -> str:
    from labels_app.models import ImageLabel

    pools = Counter(
        ImageLabel.objects.filter(pk__in=crowd.gold_ids).values_list("gold_pool", flat=True)
    )
    return "gold pools at the end: " + ", ".join(f"{k} {v}" for k, v in sorted(pools.items()))


def refusals_report(world: Any) -> list[str]:
    lines = []
    for (kind, what, status, code), count in sorted(world.refusals.items(), key=str):
        lines.append(f"{kind:<9} {what:<28} {status} {code or '-':<16} {count:>6,}")
    return lines or ["none"]


def share_flipped(pks: list[int], rows: dict[int, tuple], truth: dict[int, str]) -> tuple:
    """Of these items: the share the site decided wrong, and the share the majority has wrong."""
    if not pks:
        return None, None
    site = sum(site_of(rows[pk][2]) not in (None, truth[pk]) for pk in pks) / len(pks)
    majority = sum(by_majority(rows[pk]) not in (None, truth[pk]) for pk in pks) / len(pks)
    return site, majority


# --- One scenario ---------------------------------------------------------------------------


def crowd_delete(crowd: Crowd, people: list) -> None:
    """Remove exactly the rows this scenario made, dependants first (several are PROTECTed)."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.core.cache import cache
    from django.db.models import ProtectedError

    from contributors.models import Contributor
    from donations.models import Image
    from labels_app.models import ImageLabel, Label
    from validations.models import ValidationSkip, Vote

    Vote.objects.filter(image_label__label_id__in=crowd.label_ids).delete()
    ValidationSkip.objects.filter(image_label__label_id__in=crowd.label_ids).delete()
    ImageLabel.objects.filter(label_id__in=crowd.label_ids).delete()
    for start in range(0, len(crowd.image_ids), 500):
        Image.objects.filter(pk__in=crowd.image_ids[start : start + 500]).delete()
    Label.objects.filter(pk__in=crowd.label_ids).delete()
    contributor_ids = [p.contributor_id for p in people if p.contributor_id] + [crowd.donor_id]
    try:
        Contributor.objects.filter(pk__in=contributor_ids).delete()
    except ProtectedError as error:
        print(f"  left behind: contributors still referenced ({error.args[0][:120]})")
    usernames = [p.browser.username for p in people if p.browser.username]
    get_user_model().objects.filter(username__in=usernames).delete()
    sessions = [p.browser.client.cookies.get("sessionid") for p in people]
    Session.objects.filter(session_key__in=[s.value for s in sessions if s]).delete()
    cache.clear()  # served-task records and first-write claims of this scenario


def scenario_run(args: argparse.Namespace, scenario: Scenario) -> dict[str, Any]:
    from crowd_people import SYBIL, World
    from django_tasks.signals import task_finished

    rng = random.Random(f"{args.seed}/{scenario.name}")
    # Anything in the services that uses the module-level generator is seeded as well.
    random.seed(f"{args.seed}/{scenario.name}/global")
    print(f"\n=== {scenario.name}: {scenario.title} ===")
    started = time.perf_counter()
    crowd = crowd_seed(args, scenario, rng)
    world = World(
        truth=crowd.truth,
        rng=rng,
        pileon_label=crowd.label_names[0],
        pileon_size=args.pileon_items,
        sybil_label=crowd.label_names[0],
        trusted_wait=args.trusted_wait,
        quiet_steps=args.quiet_steps,
    )
    people = people_create(args, scenario, world, rng)
    for person in people:
        person.setup()
    setup_seconds = time.perf_counter() - started
    kinds = Counter(person.kind for person in people)
    print(
        f"{args.items:,} items over {args.labels} labels + {len(crowd.gold_ids)} gold; people: "
        + ", ".join(f"{kind} {count}" for kind, count in kinds.items())
    )
    recounts = RecountLog()
    task_finished.connect(recounts.on_finished, dispatch_uid="crowd_sim_recounts")
    warmup_seconds, warmup_requests = 0.0, 0
    try:
        if scenario.warmup and args.warmup_answers > 0:
            requests_before = sum(person.browser.requests for person in people)
            warmup = warmup_run(args, people, world, crowd)
            warmup_seconds = warmup.seconds
            warmup_requests = sum(p.browser.requests for p in people) - requests_before
            for line in warmup_report(warmup, people):
                print(line)
        started = time.perf_counter()
        log = crowd_run(people, world, crowd, budget=args.answers_per_item * args.items)
        vote_seconds = time.perf_counter() - started
        requests = sum(person.browser.requests for person in people) - warmup_requests

        rows = item_rows(crowd)
        by_pk = {pk: tuple(row) for pk, *row in rows}
        majority = outcome(rows, crowd.truth, by_majority)
        site = outcome(rows, crowd.truth, by_site)
        decided_rows = [row for row in rows if site_of(row[3]) is not None]
        majority_same = outcome(decided_rows, crowd.truth, by_majority)

        print(f"stopped: {log.stop_reason} ({log.sweeps} new turns for idle people)")
        print(
            f"answers: {log.answers:,} ({log.community_answers:,} from the community, "
            f"{log.community_answers / args.items:.1f} per item); {requests:,} requests"
            + (
                f"; beside the budget, {log.history_answers:,} on warm-up items that recounts "
                "reopened"
                if log.history_answers
                else ""
            )
        )
        print(
            f"recounts: {recounts.runs} run, {recounts.failed} failed, "
            f"{recounts.flipped:,} judgements flipped"
        )
        for error in recounts.errors:
            print(f"  recount error: {error}")
        for error in world.server_errors[:5]:
            print(f"  server error: {error}")
        for line in people_report(people, crowd):
            print(f"  {line}")
        for (kind, event), count in sorted(world.events.items()):
            print(f"  {kind}: {event}: {count:,}")
        for line in memory_report(people, crowd):
            print(f"  {line}")
        print(
            f"  {gold_pool_report(crowd)}"
            + (f" (all gold of the labels: {gold_pools_all(crowd)})" if crowd.warmup_ids else "")
        )
        print("refused requests (kind, request, status, code, count):")
        for line in refusals_report(world):
            print(f"  {line}")
        print(
            f"site consensus : accuracy {percent(site.accuracy)} over {site.decided:,} decided "
            f"= {percent(site.share)} decided ({site.decided - site.correct} wrong)"
        )
        print(
            f"plain majority : accuracy {percent(majority.accuracy)} over {majority.decided:,} "
            f"decided = {percent(majority.share)} decided; on the items the site decided "
            f"{percent(majority_same.accuracy)}"
        )
        summary = [
            f"site {percent(site.accuracy).strip()} accurate, {percent(site.share).strip()} "
            f"decided; majority {percent(majority.accuracy).strip()}, "
            f"{percent(majority.share).strip()}"
        ]
        target_accuracy = TARGET_ACCURACY if scenario.attacker or scenario.sybils else None
        target_accuracy = target_accuracy or TARGET_ACCURACY_CLEAN
        checks = [
            (
                f"accuracy ≥ {100 * target_accuracy:.1f} %",
                site.accuracy is not None and site.accuracy >= target_accuracy,
            ),
            (f"decided ≥ {100 * TARGET_DECIDED:.0f} %", site.share >= TARGET_DECIDED),
        ]
        if scenario.sybils:
            target_yes = [
                pk
                for pk in crowd.item_ids
                if crowd.label_of[pk] == world.sybil_label and crowd.truth[pk] == "yes"
            ]
            flipped, majority_flipped = share_flipped(target_yes, by_pk, crowd.truth)
            sybil_answers = sum(p.answers for p in people if p.kind == SYBIL)
            print(
                f"attacked label: {len(target_yes)} true-yes items; flipped to no by the site "
                f"{percent(flipped)}, by the plain majority {percent(majority_flipped)} "
                f"({sybil_answers:,} sybil answers)"
            )
            summary.append(
                f"flipped {percent(flipped).strip()} (majority {percent(majority_flipped).strip()})"
            )
            checks.append(
                (
                    f"attacked label flipped ≤ {100 * TARGET_FLIPPED:.0f} %",
                    flipped is not None and flipped <= TARGET_FLIPPED,
                )
            )
        if scenario.name == "pileon":
            chosen = [pk for pk in world.pileon_items if pk in by_pk]
            wrong, majority_wrong = share_flipped(chosen, by_pk, crowd.truth)
            print(
                f"chosen items: {len(chosen)} (+{len(world.pileon_items) - len(chosen)} gold); "
                f"decided wrong by the site {percent(wrong)}, by the plain majority "
                f"{percent(majority_wrong)}"
            )
            summary.append(
                f"chosen items wrong {percent(wrong).strip()} "
                f"(majority {percent(majority_wrong).strip()})"
            )
            checks.append(
                (
                    f"chosen items decided wrong ≤ {100 * TARGET_FLIPPED:.0f} %",
                    wrong is not None and wrong <= TARGET_FLIPPED,
                )
            )
        for line in [
            *wrong_decisions_explain(crowd, rows, people),
            *open_items_explain(crowd, rows, people),
        ]:
            print(f"  {line}")
        for name, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        print(
            f"runtime: setup {setup_seconds:.1f} s, "
            + (f"warm-up {warmup_seconds:.1f} s, " if warmup_seconds else "")
            + f"run {vote_seconds:.1f} s ({1000 * vote_seconds / max(1, requests):.1f} ms per "
            "request)"
        )
        return {
            "name": scenario.name,
            "checks": checks,
            "summary": "; ".join(summary),
            "seconds": setup_seconds + warmup_seconds + vote_seconds,
        }
    finally:
        task_finished.disconnect(dispatch_uid="crowd_sim_recounts")
        crowd_delete(crowd, people)


def scenarios_parse(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    known = [
        "none",
        "sleeper-training",
        "sleeper-trusted",
        "sleeper-comeback",
        "ring",
        "sybil",
        "pileon",
    ]
    if text == "all":
        return known
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(known)} (or all)")
    return names


def arguments_parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios", type=scenarios_parse, default=scenarios_parse("all"), help="comma-separated"
    )
    parser.add_argument("--items", type=int, default=1_000, help="non-gold image-labels")
    parser.add_argument("--labels", type=int, default=5, help="labels the items are spread over")
    parser.add_argument("--gold", type=int, default=100, help="gold image-labels (half hidden)")
    parser.add_argument("--voters", type=int, default=200, help="the community")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--attackers", type=float, default=0.3, help="attacker share (0.3)")
    parser.add_argument("--careless", type=float, default=0.2, help="careless share (0.2)")
    parser.add_argument("--yes-share", type=float, default=0.5, help="share of true 'yes'")
    parser.add_argument(
        "--answers-per-item",
        type=int,
        default=20,
        help="stop after this many community answers per item on average (20)",
    )
    parser.add_argument("--sybils", type=int, default=150)
    parser.add_argument("--sybil-networks", type=int, default=4, help="/24s the sybils use")
    parser.add_argument("--sybil-answers", type=int, default=40, help="answers per sybil")
    parser.add_argument(
        "--trusted-wait",
        type=int,
        default=150,
        help="answers a sleeper waits when /api/me/ shows no trust level (150)",
    )
    parser.add_argument(
        "--quiet-steps", type=int, default=400, help="others' steps a come-back sleeper waits"
    )
    parser.add_argument("--pileon-items", type=int, default=50, help="items colluders choose")
    parser.add_argument(
        "--warmup-answers",
        type=int,
        default=600,
        help="sleeper-trusted: warm-up answers a sleeper gives at most while waiting to be "
        "trusted (600; 0: no warm-up)",
    )
    parser.add_argument(
        "--warmup-regular",
        type=int,
        default=300,
        help="warm-up answers of each honest or careless member (300)",
    )
    parser.add_argument(
        "--warmup-items", type=int, default=6_000, help="warm-up items at most (6,000)"
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

        # The immediate backend logs two lines per recount, the API one per refusal.
        logging.getLogger("django_tasks").setLevel(logging.WARNING)
        logging.getLogger("django.request").setLevel(logging.ERROR)
        logging.getLogger("django.security.csrf").setLevel(logging.ERROR)
        call_command("migrate", verbosity=0, interactive=False)
        if ImageLabel.objects.exists():
            raise SystemExit(
                "The database already holds image-labels; they would be served as tasks too. "
                "Use an empty database."
            )
        print(
            f"Crowd simulation through the API - Python {platform.python_version()}, "
            f"{connection.vendor} database, seed {args.seed}"
        )
        print(
            f"truth: yes with p={args.yes_share}; honest p=0.9, careless p=0.6, attackers "
            f"answering right on purpose p=0.97; budget {args.answers_per_item} community "
            "answers per item"
        )
        print(
            "rules: "
            + ", ".join(
                f"{name}={getattr(settings, name)}"
                for name in SETTING_NAMES
                if hasattr(settings, name)
            )
        )
        known = scenarios_all()
        results = [scenario_run(args, known[name]) for name in args.scenarios]
        print("\n=== Verdict ===")
        for result in results:
            verdicts = "; ".join(
                f"{'PASS' if ok else 'FAIL'} {name}" for name, ok in result["checks"]
            )
            print(f"{result['name']:<17} ({result['seconds']:.0f} s): {result['summary']}")
            print(f"{'':<17} {verdicts}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
