"""The simulated people of bench/crowd_sim.py: one browser each, speaking HTTP to the public API.

Every person has their own ``django.test.Client`` (their own cookies, so their own session and
anonymous identity) and a network address sent as ``REMOTE_ADDR`` with every request. What they
answer depends only on what the responses contain, plus the truth of the photo, which any
person sees by looking at it (``World.truth``, known to the simulation because it made the
items). Nothing here reads the database except to age a pre-existing identity after its first
write (``Person.identity_note``), which is seeding, not playing.

Import this module after ``django.setup()``.
"""

from __future__ import annotations

import random
import secrets
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

HONEST, CARELESS = "honest", "careless"
SLEEPER, RING, SYBIL, COLLUDER = "sleeper", "ring", "sybil", "colluder"
KINDS = (HONEST, CARELESS, SLEEPER, RING, SYBIL, COLLUDER)
ACCURACY = {HONEST: 0.9, CARELESS: 0.6}
# An attacker answering right on purpose (building a record, or on an item they take for a
# check) looks carefully: right 97 % of the time. At 0.9 nobody would reach "trusted" (it needs
# a Wilson lower bound of 0.9 over 30 gold answers).
CAREFUL = 0.97
# A pre-existing identity is this many days old when the run starts.
COMMUNITY_AGE_DAYS = (30, 365)
# How often a sleeper with an account reads /api/me/ (every this many answers).
ME_POLL_EVERY = 5
# An item the pooled memory takes for gold: served to at least SUSPECT_SERVED members and to
# SUSPECT_FACTOR times as many as the average item, or with SUSPECT_FACTOR times the answers of
# the median open item in the listing (the queue serves the neediest items; gold is served
# whatever it has), or decided and still handed out.
SUSPECT_SERVED = 4
SUSPECT_FACTOR = 2.5
# A ring member tries a vote on a listed id it was not served with this probability per task.
RING_PROBE_SHARE = 0.05
# The ring reads the listing again after this many of its members' tasks.
RING_LISTING_EVERY = 150
# A pile-on colluder skips up to this many served tasks per step looking for a chosen item,
# then answers the last one honestly; it tries a vote on a chosen id directly with this share.
PILEON_TRIES = 5
PILEON_DIRECT_SHARE = 0.2
# Sleepers who come back: without a demotion signal they go quiet after this many hostile
# answers; back, they answer honestly until counted again, or at most this many answers.
COMEBACK_QUIET_EVERY = 30
COMEBACK_HONEST_MAX = 40


def opposite(answer: str) -> str:
    return "no" if answer == "yes" else "yes"


@dataclass
class World:
    """What all people share: the truth of the photos, the clock, and what was counted."""

    truth: dict[int, str]
    rng: random.Random
    step: int = 0
    # (kind, what, status, code) -> count, for every refused request.
    refusals: Counter = field(default_factory=Counter)
    # (kind, event) -> count: sleepers waking up, going quiet, listing probes, ...
    events: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    # Pile-on: the items the colluders chose from the listing, and their label.
    pileon_label: str = ""
    pileon_items: list[int] = field(default_factory=list)
    pileon_size: int = 50
    # Sybils: the label they flood with "no".
    sybil_label: str = ""
    sybil_grids_per_step: int = 1
    # Sleepers waiting for "trusted" when /api/me/ shows no level: this many answers.
    trusted_wait: int = 150
    quiet_steps: int = 400
    # "warmup" while the community answers the warm-up pool (the site's history before the
    # attack: everyone honest), "measured" afterwards; `warmed` once a warm-up has run.
    phase: str = "measured"
    warmed: bool = False
    # The warm-up items, and answers given to them in the measured phase (history a demotion
    # reopened: the site re-deciding it without the demoted voter's answers).
    history_ids: frozenset[int] = frozenset()
    history_answers: int = 0


@dataclass
class Memory:
    """What a group of attackers pools: known gold answers (training feedback), which ids were
    served to which member, and what the listing said about items."""

    gold: dict[int, str] = field(default_factory=dict)
    served: defaultdict = field(default_factory=lambda: defaultdict(set))
    decided: set[int] = field(default_factory=set)
    answers: dict[int, int] = field(default_factory=dict)
    open_ids: list[int] = field(default_factory=list)
    suspected: set[int] = field(default_factory=set)
    served_pairs: int = 0
    typical_answers: float | None = None  # median answers of the open items last listed
    tasks_since_listing: int = RING_LISTING_EVERY

    def learn(self, pk: int, vote: dict | None) -> bool | None:
        """Remember a training answer; returns feedback.training_passed (None: no feedback)."""
        feedback = (vote or {}).get("feedback")
        if not feedback:
            return None
        self.gold[pk] = feedback["expected"]
        return bool(feedback.get("training_passed"))

    def row_note(self, row: dict) -> None:
        self.answers[row["id"]] = row["yes_count"] + row["no_count"] + row["unsure_count"]
        if row["state"] != "open":
            self.decided.add(row["id"])
        else:
            self.decided.discard(row["id"])

    def serve_note(self, pk: int, member: int) -> None:
        if member not in self.served[pk]:
            self.served[pk].add(member)
            self.served_pairs += 1

    def looks_gold(self, pk: int, *, by_served: bool = True) -> bool:
        """Served to far more members than the average item (`by_served`: not for a flood,
        whose members all hunt the same items), decided yet still handed out, or answered far
        more than the open items of the listing: likely a check."""
        served = len(self.served[pk])
        average_served = self.served_pairs / max(1, len(self.served))
        typical = self.typical_answers
        suspect = (
            (by_served and served >= max(SUSPECT_SERVED, SUSPECT_FACTOR * average_served))
            or pk in self.decided
            or (typical is not None and self.answers.get(pk, 0) >= SUSPECT_FACTOR * typical + 1)
        )
        if suspect:
            self.suspected.add(pk)
        return suspect


class Browser:
    """One person's browser: cookies, a network address, the CSRF header on every write."""

    def __init__(self, *, address: str, kind: str, world: World):
        self.client = Client(
            enforce_csrf_checks=True,
            raise_request_exception=True,
            HTTP_HOST="127.0.0.1",
            REMOTE_ADDR=address,
        )
        self.address = address
        self.kind = kind
        self.world = world
        self.requests = 0
        self.username = ""

    def get(self, path: str, what: str, **params: Any):
        return self._send("get", path, what, data=params or None)

    def post(self, path: str, what: str, body: dict | None = None):
        token = self.client.cookies.get("csrftoken")
        if token is None:
            # As a page's script would: any GET hands out the CSRF cookie first.
            self.get("/api/validations/next/", "csrf cookie")
            token = self.client.cookies["csrftoken"]
        return self._send(
            "post",
            path,
            what,
            data=body or {},
            content_type="application/json",
            headers={"X-CSRFToken": token.value},
        )

    def _send(self, method: str, path: str, what: str, **kwargs: Any):
        self.requests += 1
        try:
            response = getattr(self.client, method)(path, **kwargs)
        except Exception as error:  # a 500: the site's bug, reported at the end
            self.world.server_errors.append(f"{what}: {type(error).__name__}: {error}"[:300])
            self.world.refusals[(self.kind, what, 500, "server_error")] += 1
            return None
        if response.status_code >= 400:
            code = ""
            if response.get("Content-Type", "").startswith("application/json"):
                code = response.json().get("code", "")
            self.world.refusals[(self.kind, what, response.status_code, code)] += 1
        return response

    def sign_up(self, rng: random.Random) -> bool:
        """Create an account through the sign-up page, as a person would (so /api/me/ answers)."""
        self.client.get("/accounts/signup/")
        self.username = f"crowd-{rng.getrandbits(48):012x}"
        password = secrets.token_urlsafe(16)
        response = self.client.post(
            "/accounts/signup/",
            {
                "username": self.username,
                "password1": password,
                "password2": password,
                "csrfmiddlewaretoken": self.client.cookies["csrftoken"].value,
            },
        )
        self.requests += 2
        if response.status_code != 302:
            self.world.refusals[(self.kind, "sign up", response.status_code, "")] += 1
            self.username = ""
        return bool(self.username)


class Person:
    """Someone answering "does this image show …?" through the API."""

    kind = HONEST

    def __init__(self, *, browser: Browser, world: World, rng: random.Random, aged: bool):
        self.browser = browser
        self.world = world
        self.rng = rng
        self.aged = aged
        self.contributor_id: int | None = None
        self.answers = 0
        self.warmup_answers = 0  # of `answers`, those given in the warm-up
        self.hostile_answers = 0
        self.budget: int | None = None  # answers after which the person stops (sybils)
        self.resting_until = 0

    # --- what a person does -----------------------------------------------------------------

    def setup(self) -> None:
        """Before the run (sleepers who read /api/me/ make an account)."""

    def step(self) -> int | None:
        """One visit: take a task and answer it. Answers stored, None when nothing was served."""
        task = self.next_task()
        if task is None:
            return None
        return self.answer_task(task, self.answer_for(task))

    def answer_for(self, task: dict) -> str:
        return self.right(task, ACCURACY[self.kind])

    # --- helpers ----------------------------------------------------------------------------

    def truth(self, task: dict) -> str:
        return self.world.truth[task["image_label"]]

    def right(self, task: dict, accuracy: float) -> str:
        truth = self.truth(task)
        return truth if self.rng.random() < accuracy else opposite(truth)

    def wrong(self, task: dict) -> str:
        return opposite(self.truth(task))

    def next_task(self, label: str = "") -> dict | None:
        params = {"label": label} if label else {}
        response = self.browser.get("/api/validations/next/", "next task", **params)
        if response is None or response.status_code != 200:
            return None
        return response.json()

    def answer_task(self, task: dict, answer: str, *, hostile: bool = False) -> int:
        vote = self.vote(task["image_label"], answer)
        if vote is None:
            return 0
        self.on_vote(task, vote)
        self.hostile_answers += hostile
        return 1

    def vote(self, pk: int, answer: str, what: str = "vote") -> dict | None:
        response = self.browser.post("/api/votes/", what, {"image_label": pk, "answer": answer})
        if response is None or response.status_code != 201:
            return None
        self.answers += 1
        if self.world.phase == "measured" and pk in self.world.history_ids:
            self.world.history_answers += 1
        self.identity_note()
        return response.json()

    def on_vote(self, task: dict, vote: dict) -> None:
        """What a vote response teaches (attackers read their feedback)."""

    def identity_note(self) -> None:
        """After the first write: remember the contributor, and make a pre-existing member's
        identity as old as their membership ("the community existed before the attack")."""
        if self.contributor_id is not None:
            return
        from contributors.identity import SESSION_KEY
        from contributors.models import Contributor

        if self.browser.username:
            self.contributor_id = (
                Contributor.objects.filter(user__username=self.browser.username)
                .values_list("pk", flat=True)
                .first()
            )
        else:
            self.contributor_id = self.browser.client.session.get(SESSION_KEY)
        if self.aged and self.contributor_id is not None:
            age = timedelta(days=self.rng.uniform(*COMMUNITY_AGE_DAYS))
            Contributor.objects.filter(pk=self.contributor_id).update(
                created_at=timezone.now() - age
            )

    def event(self, name: str) -> None:
        self.world.events[(self.kind, name)] += 1

    def trust_level_seen(self) -> int | None:
        """The trust level /api/me/ shows (accounts only); None when it shows none."""
        response = self.browser.get("/api/me/", "me")
        if response is None or response.status_code != 200:
            return None
        level = response.json().get("trust_level")
        return level if isinstance(level, int) else None


class Voter(Person):
    """Honest (right with p=0.9) or careless (p=0.6); never skips, never unsure."""

    def __init__(self, *, kind: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.kind = kind


class Sleeper(Person):
    """Honest (and careful) until a moment the API reveals, then wrong on everything except the
    gold items it knows from its own training feedback.

    `wake` is "training" (feedback.training_passed), "trusted" (/api/me/ shows trust level 2,
    or `trusted_wait` answers when it shows none) or "comeback" (wakes after training; goes
    quiet when /api/me/ shows a demotion, or every COMEBACK_QUIET_EVERY hostile answers without
    that signal; then honest until counted again, and hostile once more).

    In a warm-up (`World.phase` "warmup") a "trusted" sleeper stays honest whatever /api/me/
    shows, only noting when it first shows trust level 2; at its first step of the measured
    phase it reads /api/me/ before anything else and turns hostile if it is trusted.
    """

    kind = SLEEPER

    def __init__(self, *, wake: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.wake = wake
        self.hostile = False
        self.known_gold: dict[int, str] = {}
        self.level_shown: bool | None = None  # whether /api/me/ shows a trust level
        self.honest_since_comeback = 0
        self.hostile_since_quiet = 0
        self.returning = False
        self.trusted_seen_at: int | None = None  # answers when /api/me/ first showed level 2
        self.woke_at = None  # when it first turned hostile (for the report)
        self.measured_started = False

    def setup(self) -> None:
        if self.wake in ("trusted", "comeback") and self.browser.sign_up(self.rng):
            self.identity_note()

    def answer_for(self, task: dict) -> str:
        pk = task["image_label"]
        if pk in self.known_gold:
            return self.known_gold[pk]
        if self.hostile:
            return self.wrong(task)
        return self.right(task, CAREFUL)

    def step(self) -> int | None:
        if self.world.warmed and self.world.phase == "measured" and not self.measured_started:
            self.measured_started = True
            if self.wake == "trusted" and not self.hostile and self.level_shown is not False:
                self.trusted_check()
        task = self.next_task()
        if task is None:
            return None
        answer = self.answer_for(task)
        hostile = self.hostile and answer == self.wrong(task)
        stored = self.answer_task(task, answer, hostile=hostile)
        if stored:
            self.after_answer()
        return stored

    def on_vote(self, task: dict, vote: dict) -> None:
        feedback = vote.get("feedback")
        if not feedback:
            return
        self.known_gold[task["image_label"]] = feedback["expected"]
        if feedback.get("training_passed") and self.wake in ("training", "comeback"):
            self.turn_hostile("woke: training passed (vote feedback)")

    def turn_hostile(self, why: str) -> None:
        if not self.hostile:
            self.hostile = True
            self.hostile_since_quiet = 0
            if self.woke_at is None:
                self.woke_at = timezone.now()
            self.event(why)

    def trusted_check(self) -> None:
        """Read /api/me/: note the first time it shows trusted; hostile then, except in the
        warm-up (where the sleeper goes on building its record)."""
        level = self.level()
        if level is None or level < 2:
            return
        if self.trusted_seen_at is None:
            self.trusted_seen_at = self.answers
            if self.world.phase == "warmup":
                self.event("trusted in the warm-up (seen in /api/me/)")
        if self.world.phase != "warmup":
            self.turn_hostile("woke: /api/me/ shows trusted")

    def level(self) -> int | None:
        level = self.trust_level_seen() if self.browser.username else None
        if self.level_shown is None:
            self.level_shown = level is not None
            if not self.level_shown:
                self.event("/api/me/ shows no trust level: fixed counts instead")
        return level

    def after_answer(self) -> None:
        polled = self.answers % ME_POLL_EVERY == 0
        if self.wake == "trusted" and not self.hostile:
            if self.level_shown is not False and polled:
                self.trusted_check()
            if self.world.phase == "warmup":
                return
            if self.level_shown is False and self.answers >= self.world.trusted_wait:
                self.turn_hostile(f"woke: {self.world.trusted_wait} answers (no level shown)")
        elif self.wake == "comeback" and self.hostile:
            self.hostile_since_quiet += 1
            if self.level_shown is not False and polled:
                level = self.level()
                if level is not None and level < 1:
                    self.go_quiet("demotion seen in /api/me/: goes quiet")
                    return
            if self.level_shown is False and self.hostile_since_quiet >= COMEBACK_QUIET_EVERY:
                self.go_quiet(f"quiet after {COMEBACK_QUIET_EVERY} hostile answers (no signal)")
        elif self.wake == "comeback" and self.returning:
            self.honest_since_comeback += 1
            if self.level_shown is not False and polled:
                level = self.level()
                if level is not None and level >= 1:
                    self.returning = False
                    self.turn_hostile("back: /api/me/ shows counting again, hostile again")
                    return
            if self.honest_since_comeback >= COMEBACK_HONEST_MAX:
                self.returning = False
                self.turn_hostile(f"back: hostile again after {COMEBACK_HONEST_MAX} honest")

    def go_quiet(self, why: str) -> None:
        self.event(why)
        self.hostile = False
        self.returning = True
        self.honest_since_comeback = 0
        self.resting_until = self.world.step + self.world.quiet_steps


class RingMember(Person):
    """A gold-aware ring: members pool training feedback, which ids were served to whom and what
    the listing says; right on known or likely gold (and on everything while in training, since
    only members who pass count), wrong on everything else; now and then a vote on an id picked
    from the listing, which the served-task rule should refuse."""

    kind = RING

    def __init__(self, *, memory: Memory, member: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.memory = memory
        self.member = member
        self.training = True

    def step(self) -> int | None:
        self.listing_read()
        task = self.next_task()
        if task is None:
            return None
        pk = task["image_label"]
        self.memory.serve_note(pk, self.member)
        self.item_look_up(task)
        if pk in self.memory.gold:
            answer, hostile = self.memory.gold[pk], False
        elif self.memory.looks_gold(pk) or self.training:
            answer, hostile = self.right(task, CAREFUL), False
        else:
            answer, hostile = self.wrong(task), True
        stored = self.answer_task(task, answer, hostile=hostile)
        if not self.training and self.rng.random() < RING_PROBE_SHARE:
            self.listed_id_vote()
        return stored

    def on_vote(self, task: dict, vote: dict) -> None:
        passed = self.memory.learn(task["image_label"], vote)
        if passed and self.training:
            self.training = False
            self.event("training passed (vote feedback)")

    def item_look_up(self, task: dict) -> None:
        """The item's public numbers, from the image's label list."""
        response = self.browser.get(f"/api/images/{task['image']['id']}/labels/", "image labels")
        if response is None or response.status_code != 200:
            return
        for row in response.json():
            if row["id"] == task["image_label"]:
                self.memory.row_note(row)

    def listing_read(self) -> None:
        self.memory.tasks_since_listing += 1
        if self.memory.tasks_since_listing < RING_LISTING_EVERY:
            return
        self.memory.tasks_since_listing = 0
        self.event("listing read")
        listing_note(self.browser, self.memory, states=("open", "confirmed", "rejected"))

    def listed_id_vote(self) -> None:
        candidates = [
            pk for pk in self.memory.open_ids if self.member not in self.memory.served[pk]
        ]
        if not candidates:
            return
        pk = self.rng.choice(candidates)
        self.event("vote tried on a listed id it was not served")
        answer = opposite(self.world.truth[pk])
        if self.vote(pk, answer, what="vote on a listed id") is not None:
            self.event("vote on a listed id ACCEPTED")
            self.hostile_answers += 1


def listing_note(browser: Browser, memory: Memory, *, states: tuple, label: str = "") -> None:
    """Read the image-label listing (200 a page, one page per state) into the memory."""
    for state in states:
        params = {"state": state, "page_size": 200}
        if label:
            params["label"] = label
        response = browser.get("/api/image-labels/", "listing", **params)
        if response is None or response.status_code != 200:
            continue
        rows = response.json()["results"]
        for row in rows:
            memory.row_note(row)
        if state == "open" and rows:
            memory.open_ids = [row["id"] for row in rows]
            memory.typical_answers = statistics.median(memory.answers[pk] for pk in memory.open_ids)


class Sybil(Person):
    """A fresh anonymous identity of a flood against one label: trained with the operator's
    pooled memory (right on known gold, honest elsewhere), then "no" on every item of the
    target label it is handed, through the grid and batch votes, except items that look like
    checks; honest on other labels. Stops after `budget` answers."""

    kind = SYBIL

    def __init__(self, *, memory: Memory, member: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.memory = memory
        self.member = member
        self.training = True
        self.grid_empty = False

    def step(self) -> int | None:
        if self.training or self.grid_empty or self.rng.random() < 0.3:
            return self.single_step()
        stored = self.grid_step()
        if stored is None:
            self.grid_empty = True
            return self.single_step()
        return stored

    def single_step(self) -> int | None:
        task = self.next_task()
        if task is None:
            return None
        pk = task["image_label"]
        self.memory.serve_note(pk, self.member)
        answer, hostile = self.choose(task)
        return self.answer_task(task, answer, hostile=hostile)

    def choose(self, task: dict) -> tuple[str, bool]:
        pk = task["image_label"]
        if pk in self.memory.gold:
            return self.memory.gold[pk], False
        on_target = task["label"]["name"] == self.world.sybil_label
        if on_target and not self.training and not self.memory.looks_gold(pk, by_served=False):
            return "no", self.truth(task) == "yes"
        return self.right(task, CAREFUL), False

    def grid_step(self) -> int | None:
        if self.memory.tasks_since_listing >= RING_LISTING_EVERY:
            self.memory.tasks_since_listing = 0
            listing_note(
                self.browser,
                self.memory,
                states=("open", "confirmed", "rejected"),
                label=self.world.sybil_label,
            )
        self.memory.tasks_since_listing += 1
        response = self.browser.get("/api/validations/grid/", "grid", label=self.world.sybil_label)
        if response is None or response.status_code != 200 or not response.json()["tasks"]:
            return None
        tasks = response.json()["tasks"]
        chosen = []
        for task in tasks:
            self.memory.serve_note(task["image_label"], self.member)
            chosen.append((task, *self.choose(task)))
        body = {"votes": [{"image_label": t["image_label"], "answer": a} for t, a, _ in chosen]}
        response = self.browser.post("/api/votes/batch/", "batch vote", body)
        if response is None or response.status_code != 201:
            # As a client would: answer one by one what the batch did not take.
            return sum(self.answer_task(t, a, hostile=h) for t, a, h in chosen)
        self.answers += len(chosen)
        self.identity_note()
        for (task, _answer, hostile), vote in zip(chosen, response.json(), strict=True):
            self.on_vote(task, vote)
            self.hostile_answers += hostile
        return len(chosen)

    def on_vote(self, task: dict, vote: dict) -> None:
        passed = self.memory.learn(task["image_label"], vote)
        if passed and self.training:
            self.training = False
            self.event("training passed (vote feedback)")


class Colluder(Person):
    """A pile-on: honest until training passes, then hunting chosen items (picked from the
    listing) with repeated next-task requests for their label, skipping the others, and all
    voting the same wrong answer on them; now and then a vote on a chosen id directly."""

    kind = COLLUDER

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.training = True
        self.voted: set[int] = set()

    def step(self) -> int | None:
        if self.training:
            task = self.next_task()
            if task is None:
                return None
            return self.answer_task(task, self.right(task, CAREFUL))
        chosen = self.chosen_items()
        if self.rng.random() < PILEON_DIRECT_SHARE:
            self.direct_vote(chosen)
        for attempt in range(PILEON_TRIES):
            task = self.next_task(label=self.world.pileon_label)
            if task is None:
                task = self.next_task()
                if task is None:
                    return None
                return self.answer_task(task, self.right(task, CAREFUL))
            pk = task["image_label"]
            if pk in chosen:
                self.voted.add(pk)
                return self.answer_task(task, self.wrong(task), hostile=True)
            if attempt < PILEON_TRIES - 1:
                self.browser.post(f"/api/validations/{pk}/skip/", "skip")
                self.event("skipped a task that was not chosen")
        return self.answer_task(task, self.right(task, CAREFUL))

    def on_vote(self, task: dict, vote: dict) -> None:
        feedback = vote.get("feedback")
        if feedback and feedback.get("training_passed") and self.training:
            self.training = False
            self.event("training passed (vote feedback)")

    def chosen_items(self) -> set[int]:
        """The first colluder to get here picks the targets from the listing for all."""
        if not self.world.pileon_items:
            response = self.browser.get(
                "/api/image-labels/",
                "listing",
                label=self.world.pileon_label,
                state="open",
                page_size=200,
            )
            ids = [row["id"] for row in response.json()["results"]] if response else []
            self.world.pileon_items = self.rng.sample(ids, min(self.world.pileon_size, len(ids)))
            self.event(f"chose {len(self.world.pileon_items)} items from the listing")
        return set(self.world.pileon_items)

    def direct_vote(self, chosen: set[int]) -> None:
        left = sorted(chosen - self.voted)
        if not left:
            return
        pk = self.rng.choice(left)
        self.event("vote tried on a chosen id it was not served")
        if self.vote(pk, opposite(self.world.truth[pk]), what="vote on a chosen id") is not None:
            self.voted.add(pk)
            self.hostile_answers += 1
            self.event("vote on a chosen id ACCEPTED")
