"""Benchmark: reverting a contributor with 100k answers, and undoing it, on PostgreSQL.

It seeds a dedicated PostgreSQL database (dropped and made anew each run) with 1,000 unlocked
images, 100 labels, 100k image-labels, a vandal who answered "no" to every one of them and an
honest voter who answered "yes" (200k counted votes, the consensus stored as their sum), then:

* starts the revert as the admin does (``revert_start``) and runs its background task
  (``revert_run``) in this process, printing the progress the admin page shows every few
  seconds, while a second connection keeps casting votes by other voters on the same items;
* undoes it the same way (``revert_undo`` + ``revert_undo_run``);
* checks afterwards that no vote was lost and that every image-label's stored evidence and
  counted votes equal what its votes say.

Figures: seeding time, revert and undo time, judgements recounted per second, and the checks.
It is a benchmark, not a test: the exit code is 0 whatever the verdicts.

Run from the repository root (PostgreSQL at 127.0.0.1:5432 with trust auth, as in CI)::

    .venv/bin/python bench/revert.py [--answers 100000]
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE = "imagemonkey_bench_revert"
LABELS = 100


def database_recreate() -> None:
    for command in (["dropdb", "--if-exists", DATABASE], ["createdb", DATABASE]):
        subprocess.run([*command, "-h", "127.0.0.1", "-U", "postgres"], check=True)  # noqa: S603


def environment_isolate() -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    os.environ["DJANGO_SETTINGS_MODULE"] = "imagemonkey_site.settings"
    for name in ("REDIS_URL", "S3_BUCKET"):
        os.environ.pop(name, None)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def seed(answers: int):
    import uuid

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.utils import timezone

    from contributors.models import Contributor, TrustLevel
    from donations.models import Image, ImageStatus
    from labels_app.models import ImageLabel, Label
    from trust.services import judgement_weight
    from validations.models import Vote

    started = time.perf_counter()
    now = timezone.now()
    month_ago = now - timezone.timedelta(days=60)
    record = {
        "gold_answered": 10,
        "gold_correct": 10,
        "agreement_judged": 10,
        "agreement_agreed": 10,
        "votes_counted": True,
        "trust_level": TrustLevel.CONTRIBUTOR,
        "training_passed_at": now,
        "created_at": month_ago,
    }
    vandal, honest, *others = [Contributor.objects.create(**record) for _ in range(4)]
    moderator = get_user_model().objects.create_user("bench-moderator", is_staff=True)
    moderator.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_revert", "undo_revert"])
    )
    labels = Label.objects.bulk_create(
        Label(name=f"thing {n}", plural=f"things {n}", description="") for n in range(LABELS)
    )
    images = Image.objects.bulk_create(
        Image(
            file=f"images/{n}.jpg",
            thumbnail_small="s",
            thumbnail_large="l",
            media_type="image/jpeg",
            byte_size=1,
            width=100,
            height=100,
            original_format="JPEG",
            sha256=uuid.uuid4().hex * 2,
            phash="0" * 16,
            phash_band0=0,
            phash_band1=0,
            phash_band2=0,
            phash_band3=0,
            status=ImageStatus.UNLOCKED,
            donor=honest,
            cc0_confirmed=True,
        )
        for n in range(answers // LABELS)
    )
    weight = judgement_weight(vandal)
    items = ImageLabel.objects.bulk_create(
        (
            ImageLabel(image=image, label=label, added_by=honest, counted_votes=2, in_queue=True)
            for image in images
            for label in labels
        ),
        batch_size=5000,
    )
    Vote.objects.bulk_create(
        (
            Vote(
                image_label=item,
                contributor=voter,
                answer=answer,
                counted=True,
                weight=weight,
                created_at=now,
            )
            for item in items
            for voter, answer in ((vandal, "no"), (honest, "yes"))
        ),
        batch_size=10000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "vandal": vandal,
        "others": others,
        "moderator": moderator,
        "items": [item.pk for item in items],
        "seconds": time.perf_counter() - started,
    }


def consensus_mismatches() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM labels_app_imagelabel il LEFT JOIN (
                SELECT image_label_id,
                       count(*) FILTER (WHERE counted) AS counted,
                       coalesce(sum(CASE WHEN counted AND answer = 'yes' THEN weight
                                         WHEN counted AND answer = 'no' THEN -weight
                                         ELSE 0 END), 0) AS evidence
                FROM validations_vote GROUP BY image_label_id
            ) v ON v.image_label_id = il.id
            WHERE il.counted_votes <> coalesce(v.counted, 0)
               OR abs(il.evidence - coalesce(v.evidence, 0)) > 1e-9
            """
        )
        return cursor.fetchone()[0]


def votes_meanwhile(voter, items: list[int], stop: threading.Event, cast: list[int]) -> None:
    """Another connection voting on the same items while the revert runs."""
    from django.db import connections, transaction

    from labels_app.models import ImageLabel
    from validations.services import record_answer

    try:
        for item_id in items:
            if stop.is_set():
                break
            with transaction.atomic():
                record_answer(
                    contributor=voter, image_label=ImageLabel.objects.get(pk=item_id), answer="yes"
                )
            cast[0] += 1
    finally:
        connections.close_all()


def timed_step(name: str, step, revert_id: int, voter, items: list[int]) -> tuple[float, int]:
    from moderation.models import Revert

    stop, cast = threading.Event(), [0]
    voting = threading.Thread(target=votes_meanwhile, args=(voter, items, stop, cast))
    started = time.perf_counter()
    worker = threading.Thread(target=step, kwargs={"revert_id": revert_id})
    worker.start()
    voting.start()
    while worker.is_alive():
        worker.join(timeout=5)
        revert = Revert.objects.get(pk=revert_id)
        print(
            f"    {name}: {revert.get_state_display():<12} {revert.done:>7} of {revert.total}"
            f" ({revert.percent:5.1f} %) after {time.perf_counter() - started:6.1f} s",
            flush=True,
        )
    elapsed = time.perf_counter() - started
    stop.set()
    voting.join()
    return elapsed, cast[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000, help="the vandal's answers")
    args = parser.parse_args()
    answers = max(LABELS, args.answers // LABELS * LABELS)

    database_recreate()
    environment_isolate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from moderation.models import Revert
    from moderation.services import revert_run, revert_start, revert_undo, revert_undo_run
    from validations.models import Vote

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL database {DATABASE}: seeding {answers:,} answers of one vandal")
    site = seed(answers)
    print(f"  seeded in {site['seconds']:.1f} s ({Vote.objects.count():,} votes)")

    def run_revert(revert_id):
        try:
            revert_run(revert_id=revert_id)
        finally:
            connections.close_all()

    def run_undo(revert_id):
        try:
            revert_undo_run(revert_id=revert_id)
        finally:
            connections.close_all()

    revert = revert_start(contributor=site["vandal"], moderator=site["moderator"], reason="bench")
    revert_seconds, cast_during_revert = timed_step(
        "revert", run_revert, revert.pk, site["others"][0], site["items"]
    )
    revert.refresh_from_db()
    print(
        f"  revert: {revert_seconds:.1f} s, {answers / revert_seconds:,.0f} answers/s; "
        f"{cast_during_revert:,} votes by another voter arrived meanwhile; {revert.summary}"
    )
    mismatched_after_revert = consensus_mismatches()

    revert_undo(revert_id=revert.pk, moderator=site["moderator"])
    undo_seconds, cast_during_undo = timed_step(
        "undo", run_undo, revert.pk, site["others"][1], site["items"]
    )
    revert = Revert.objects.get(pk=revert.pk)
    print(
        f"  undo:   {undo_seconds:.1f} s, {answers / undo_seconds:,.0f} answers/s; "
        f"{cast_during_undo:,} votes by another voter arrived meanwhile"
    )

    expected = answers * 2 + cast_during_revert + cast_during_undo
    total = Vote.objects.count()
    mismatched = consensus_mismatches()
    print(f"  votes: {total:,} stored, {expected:,} expected (none lost: {total == expected})")
    print(
        f"  image-labels whose consensus differs from their votes: after the revert "
        f"{mismatched_after_revert}, after the undo {mismatched}"
    )
    counted = Vote.objects.filter(contributor=site["vandal"], counted=True).count()
    print(f"  the vandal's counted answers after the undo: {counted:,} of {answers:,}")
    ok = total == expected and mismatched == mismatched_after_revert == 0 and counted == answers
    print(
        f"Verdict: {'PASS' if ok and revert.state == 'undone' else 'CHECK'} (state {revert.state})"
    )


if __name__ == "__main__":
    main()
