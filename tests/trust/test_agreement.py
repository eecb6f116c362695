"""Weights from agreement, not only from gold (issue 9, part 4): a voter right on gold and
wrong elsewhere is found out, new identities start small, and sources must be independent."""

import math
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from labels_app.models import ImageLabelState
from tests.factories import (
    ContributorFactory,
    ImageLabelFactory,
    LabelFactory,
    VoterFactory,
)
from tests.served import vote_cast
from trust.arithmetic import alarm_step
from trust.reliability import reliability_update
from trust.services import judgement_weight
from validations.models import Vote
from validations.services import contributor_votes_recount

pytestmark = pytest.mark.django_db


def decided_by_others(answer: str, *, voters=None):
    """An item established voters have decided on (three at the cap of 2.25 each, past the
    decisive 4.6; two would fall short)."""
    item = ImageLabelFactory()
    for voter in voters or (VoterFactory(), VoterFactory(), VoterFactory()):
        vote_cast(contributor=voter, image_label_id=item.pk, answer=answer)
    item.refresh_from_db()
    assert item.state == (
        ImageLabelState.CONFIRMED if answer == "yes" else ImageLabelState.REJECTED
    )
    return item


def test_honest_record_keeps_the_change_detector_low_and_a_sudden_turn_raises_it():
    settings_like = {"expected": 0.85, "suspect": 0.5}
    alarm = 0.0
    for index in range(1000):  # right 9 times in 10, the wrong ones spread out
        alarm = alarm_step(alarm, agreed=index % 10 != 0, **settings_like)
        assert alarm < 6.0
    for _ in range(5):  # then wrong five times in a row
        alarm = alarm_step(alarm, agreed=False, **settings_like)
    assert alarm >= 6.0


def test_a_sleeper_right_on_gold_but_wrong_elsewhere_is_demoted_and_loses_every_counted_vote(
    django_capture_on_commit_callbacks,
):
    sleeper = VoterFactory(gold_answered=30, gold_correct=30)
    earlier = ImageLabelFactory()
    vote_cast(contributor=sleeper, image_label_id=earlier.pk, answer="yes")
    honest = [VoterFactory() for _ in range(4)]

    with django_capture_on_commit_callbacks(execute=True):
        # Answered first, then decided the other way by others: judged when the item decides.
        for _ in range(3):
            item = ImageLabelFactory()
            vote_cast(contributor=sleeper, image_label_id=item.pk, answer="no")
            for voter in honest:
                vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")
        sleeper.refresh_from_db()
        assert sleeper.votes_counted is True
        # Answered against items already decided (re-checks): judged at once.
        for _ in range(2):
            item = decided_by_others("yes", voters=honest)
            vote_cast(contributor=sleeper, image_label_id=item.pk, answer="no")

    sleeper.refresh_from_db()
    # The factory's record of 10 agreements, then five disagreements in a row.
    assert (sleeper.agreement_judged, sleeper.agreement_agreed) == (15, 10)
    assert sleeper.votes_counted is False
    assert sleeper.demoted_at is not None
    assert not Vote.objects.filter(contributor=sleeper, counted=True).exists()
    earlier.refresh_from_db()
    assert earlier.evidence == pytest.approx(0)


def test_agreeing_voters_are_not_demoted_and_their_agreement_is_recorded(
    django_capture_on_commit_callbacks,
):
    voter = VoterFactory()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(4):
            item = decided_by_others("yes")
            vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")

    voter.refresh_from_db()
    assert (voter.agreement_judged, voter.agreement_agreed) == (14, 14)
    assert voter.votes_counted is True
    assert voter.agreement_alarm == 0


def test_a_decision_that_turns_corrects_the_agreement_of_everyone_judged_on_it(
    django_capture_on_commit_callbacks,
):
    first, second, third = VoterFactory(), VoterFactory(), VoterFactory()
    with django_capture_on_commit_callbacks(execute=True):
        item = decided_by_others("yes", voters=[first, second, third])
    first.refresh_from_db()
    assert first.agreement_agreed == 11

    # Later answers (re-checks) say "no" with more weight: the decision turns, the record
    # follows.
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            vote_cast(contributor=VoterFactory(), image_label_id=item.pk, answer="no")

    item.refresh_from_db()
    first.refresh_from_db()
    assert item.state == ImageLabelState.REJECTED
    assert (first.agreement_judged, first.agreement_agreed) == (11, 10)
    assert Vote.objects.get(contributor=first, image_label=item).agreed is False


def test_a_new_identity_starts_small_and_its_weight_grows_with_agreement(
    django_capture_on_commit_callbacks, settings
):
    newcomer = VoterFactory(created_at=timezone.now(), agreement_judged=0, agreement_agreed=0)
    start = judgement_weight(newcomer)
    assert start == pytest.approx(math.log(2))  # prior (0 + 2) / (0 + 3)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            item = decided_by_others("yes")
            vote_cast(contributor=newcomer, image_label_id=item.pk, answer="yes")

    newcomer.refresh_from_db()
    grown = judgement_weight(newcomer)
    assert grown == pytest.approx(math.log(8))  # (6 + 2) / (6 + 3)
    assert grown > start
    # Its ten right gold answers alone (log 11 = 2.40, so the cap) would weigh more.
    assert grown < settings.CONSENSUS_MAX_VOTE_WEIGHT


def test_a_cohort_of_new_identities_cannot_decide_alone_but_an_established_voter_can():
    item = ImageLabelFactory()
    fresh = [
        VoterFactory(created_at=timezone.now(), agreement_judged=40, agreement_agreed=40)
        for _ in range(6)
    ]
    for voter in fresh:
        vote_cast(contributor=voter, image_label_id=item.pk, answer="no")

    item.refresh_from_db()
    assert item.evidence < -10  # far past the decisive 4.6
    assert item.established_evidence == 0
    assert item.state == ImageLabelState.OPEN and item.in_queue

    vote_cast(contributor=VoterFactory(), image_label_id=item.pk, answer="no")
    item.refresh_from_db()
    assert item.state == ImageLabelState.REJECTED


def test_an_identity_counts_as_established_by_its_age_when_it_answered():
    voter = VoterFactory(created_at=timezone.now() - timedelta(days=13))
    item = ImageLabelFactory()
    vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")
    item.refresh_from_db()
    assert item.established_evidence == 0

    older = VoterFactory(created_at=timezone.now() - timedelta(days=15))
    vote_cast(contributor=older, image_label_id=item.pk, answer="yes")
    item.refresh_from_db()
    assert item.established_evidence == pytest.approx(judgement_weight(older))


def test_only_the_first_counted_vote_from_a_network_weighs_on_an_item():
    from validations import services

    item = ImageLabelFactory()
    first, second, elsewhere = VoterFactory(), VoterFactory(), VoterFactory()
    for voter in (first, second, elsewhere):
        from tests.served import serve

        serve(voter, item)
    services.vote_cast(contributor=first, image_label_id=item.pk, answer="yes", network="farm")
    services.vote_cast(contributor=second, image_label_id=item.pk, answer="yes", network="farm")
    services.vote_cast(contributor=elsewhere, image_label_id=item.pk, answer="yes", network="home")

    weights = dict(Vote.objects.filter(image_label=item).values_list("contributor_id", "weight"))
    assert weights[second.pk] == 0
    assert weights[first.pk] == weights[elsewhere.pk] == pytest.approx(judgement_weight(first))
    item.refresh_from_db()
    assert item.evidence == pytest.approx(2 * judgement_weight(first))
    # A recount applies the same rule.
    assert contributor_votes_recount(contributor_id=second.pk) == 0


def test_the_reliability_estimate_demotes_a_voter_who_disagrees_with_everyone(
    django_capture_on_commit_callbacks,
):
    rng = random.Random(3)
    honest = [VoterFactory() for _ in range(5)]
    # Perfect on gold, so only agreement can find this one out.
    sleeper = VoterFactory(
        gold_answered=40, gold_correct=40, agreement_judged=0, agreement_agreed=0
    )
    label = LabelFactory()
    for _ in range(30):
        truth = rng.choice(["yes", "no"])
        wrong = "no" if truth == "yes" else "yes"
        # New items each answered by three honest voters (right 9 in 10) and the sleeper, as
        # open items: nothing here is decided by two votes, so the change detector stays out.
        item = ImageLabelFactory(label=label)
        vote_cast(contributor=sleeper, image_label_id=item.pk, answer=wrong)
        for voter in rng.sample(honest, 1):
            answer = truth if rng.random() < 0.9 else wrong
            vote_cast(contributor=voter, image_label_id=item.pk, answer=answer)
        Vote.objects.create(contributor=ContributorFactory(), image_label=item, answer=truth)
        Vote.objects.create(contributor=ContributorFactory(), image_label=item, answer=truth)

    with django_capture_on_commit_callbacks(execute=True):
        done = reliability_update()

    sleeper.refresh_from_db()
    assert sleeper.reliability < 0.3
    assert sleeper.votes_counted is False
    assert done["demoted"] == 1
    assert not Vote.objects.filter(contributor=sleeper, counted=True).exists()
    for voter in honest:
        voter.refresh_from_db()
        assert voter.votes_counted is True


def test_a_reliability_estimate_that_moves_a_weight_applies_it_to_past_votes(
    django_capture_on_commit_callbacks, settings
):
    voter = VoterFactory(
        gold_answered=100, gold_correct=100, agreement_judged=100, agreement_agreed=100
    )
    item = ImageLabelFactory()
    vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")
    item.refresh_from_db()
    assert item.evidence == pytest.approx(settings.CONSENSUS_MAX_VOTE_WEIGHT)

    voter.reliability = 0.8  # what a later estimate says (log-odds 1.39)
    voter.save(update_fields=["reliability"])
    assert contributor_votes_recount(contributor_id=voter.pk) == 1

    item.refresh_from_db()
    assert item.evidence == pytest.approx(math.log(4))
    assert Vote.objects.get(contributor=voter).weight == pytest.approx(math.log(4))


def test_a_demotion_survives_a_log_in_merge():
    from trust.services import trust_records_merge

    account = VoterFactory()
    demoted = ContributorFactory(
        demoted_at=timezone.now(), votes_counted=False, training_passed_at=timezone.now()
    )

    trust_records_merge(source=demoted, target=account)

    account.refresh_from_db()
    assert account.votes_counted is False
    assert account.demoted_at is not None


def test_a_demoted_voter_meets_hidden_gold_at_the_training_rate(settings):
    from trust.services import gold_rate

    demoted = VoterFactory(votes_counted=False, demoted_at=timezone.now())
    assert gold_rate(demoted) == settings.GOLD_RATE_TRAINING
    assert gold_rate(VoterFactory(votes_cast=10_000)) == settings.GOLD_RATE_FLOOR
    from validations.services import gold_pool_for

    assert gold_pool_for(demoted) == "hidden"


def test_network_keys_group_addresses_by_wider_network_and_reveal_none():
    from django.test import RequestFactory

    from core.ratelimits import network_key

    def key(address):
        return network_key(RequestFactory().get("/", REMOTE_ADDR=address))

    assert key("203.0.113.7") == key("203.0.113.200")
    assert key("203.0.113.7") != key("203.0.114.7")
    assert key("2001:db8:1:2::1") == key("2001:db8:1:ffff::9")
    assert key("2001:db8:1::1") != key("2001:db8:2::1")
    assert "203" not in key("203.0.113.7") and len(key("203.0.113.7")) == 16
    assert key("not an address") == ""


def test_two_api_voters_behind_one_network_add_the_weight_of_one(no_hidden_gold):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory, api_token_for
    from tests.served import serve

    item = ImageLabelFactory()
    for address in ("198.51.100.10", "198.51.100.11"):
        voter = VoterFactory(user=UserFactory())
        serve(voter, item)
        client = APIClient(REMOTE_ADDR=address)
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(voter.user)}")
        response = client.post(
            "/api/votes/", {"image_label": item.pk, "answer": "yes"}, format="json"
        )
        assert response.status_code == 201

    item.refresh_from_db()
    assert item.evidence == pytest.approx(judgement_weight(voter))
    assert sorted(Vote.objects.values_list("weight", flat=True))[0] == 0


@pytest.fixture
def no_hidden_gold(settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0


def test_gold_pools_top_up_from_strong_decisions_of_established_voters_only(settings):
    from labels_app.models import ImageLabel
    from validations.services import gold_replenish

    settings.HIDDEN_GOLD_TARGET, settings.TRAINING_GOLD_TARGET = 1, 1
    established = [VoterFactory() for _ in range(4)]  # 60 days old, 2.25 each (the cap)

    def fresh():
        return VoterFactory(created_at=timezone.now(), agreement_judged=40, agreement_agreed=40)

    strong_no, strong_yes, disputed, mostly_fresh = (ImageLabelFactory() for _ in range(4))
    for voter in established:
        vote_cast(contributor=voter, image_label_id=strong_no.pk, answer="no")
        vote_cast(contributor=voter, image_label_id=strong_yes.pk, answer="yes")
    for voter in [*established[:3], VoterFactory(), VoterFactory()]:
        vote_cast(contributor=voter, image_label_id=disputed.pk, answer="yes")
    vote_cast(contributor=established[3], image_label_id=disputed.pk, answer="no")
    # Decided, but most of its evidence is a fresh cohort's (two established voters: 4.5).
    for voter in [*established[:2], *(fresh() for _ in range(6))]:
        vote_cast(contributor=voter, image_label_id=mostly_fresh.pk, answer="yes")
    mostly_fresh.refresh_from_db()
    assert mostly_fresh.state == ImageLabelState.CONFIRMED and mostly_fresh.evidence > 9.2

    added = gold_replenish()

    assert added == {"hidden": 1, "training": 1}
    gold = dict(ImageLabel.objects.exclude(gold_answer="").values_list("pk", "gold_answer"))
    assert gold == {strong_no.pk: "no", strong_yes.pk: "yes"}
    strong_no.refresh_from_db()
    assert strong_no.state == ImageLabelState.REJECTED  # public numbers unchanged
    assert gold_replenish() == {"hidden": 0, "training": 0}  # both pools are full


def test_the_estimate_runs_in_the_background_every_so_many_judgements(
    settings, django_capture_on_commit_callbacks
):
    settings.RELIABILITY_ESTIMATE_EVERY, settings.RELIABILITY_MIN_ANSWERS = 4, 1
    voters = [VoterFactory() for _ in range(2)]
    items = [ImageLabelFactory() for _ in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(contributor=voters[0], image_label_id=items[0].pk, answer="yes")
        vote_cast(contributor=voters[1], image_label_id=items[0].pk, answer="yes")
        vote_cast(contributor=voters[0], image_label_id=items[1].pk, answer="no")
    voters[0].refresh_from_db()
    assert voters[0].reliability is None  # three judgements: not yet

    with django_capture_on_commit_callbacks(execute=True):
        vote_cast(contributor=voters[1], image_label_id=items[1].pk, answer="no")

    for voter in voters:
        voter.refresh_from_db()
        assert voter.reliability is not None


def test_moderators_see_the_agreement_record_and_demotion_in_the_admin(admin_client):
    demoted = VoterFactory(votes_counted=False, demoted_at=timezone.now(), reliability=0.41)

    page = admin_client.get(f"/admin/contributors/contributor/{demoted.pk}/change/")
    listing = admin_client.get("/admin/contributors/contributor/?demoted_at__isempty=0")

    assert page.status_code == 200
    for text in ("Agreement judged", "Reliability", "0.41", "Demoted at", "Counting since"):
        assert text in page.content.decode()
    assert listing.status_code == 200
    assert f"/admin/contributors/contributor/{demoted.pk}/change/" in listing.content.decode()


def test_an_estimate_lets_a_young_community_weigh_more_than_the_prior_without_decisions():
    voter = VoterFactory(created_at=timezone.now(), agreement_judged=0, agreement_agreed=0)
    assert judgement_weight(voter) == pytest.approx(math.log(2))

    voter.reliability = 0.9
    assert judgement_weight(voter) == pytest.approx(math.log(9))  # below the gold 2.40


def test_two_voters_at_the_cap_cannot_decide_an_item_and_three_agreeing_do():
    best = [VoterFactory(gold_answered=500, gold_correct=500) for _ in range(3)]
    item = ImageLabelFactory()
    for voter in best[:2]:
        vote_cast(contributor=voter, image_label_id=item.pk, answer="no")
    item.refresh_from_db()
    assert item.state == ImageLabelState.OPEN and item.in_queue

    vote_cast(contributor=best[2], image_label_id=item.pk, answer="no")
    item.refresh_from_db()
    assert item.state == ImageLabelState.REJECTED


def test_a_cap_that_lets_two_voters_decide_is_refused_at_start_up(settings):
    from trust.checks import two_voters_cannot_decide

    assert two_voters_cannot_decide(None) == []
    settings.CONSENSUS_MAX_VOTE_WEIGHT = 3.0
    errors = two_voters_cannot_decide(None)
    assert [error.id for error in errors] == ["trust.E001"]
    assert "lets two votes decide" in errors[0].msg


def test_a_demoted_voters_network_voice_passes_to_the_next_voter_from_that_network():
    from tests.served import serve
    from validations import services

    item = ImageLabelFactory()
    sleeper, housemate = VoterFactory(), VoterFactory()
    for voter in (sleeper, housemate):
        serve(voter, item)
    services.vote_cast(contributor=sleeper, image_label_id=item.pk, answer="no", network="home")
    services.vote_cast(contributor=housemate, image_label_id=item.pk, answer="yes", network="home")
    item.refresh_from_db()
    assert item.evidence == pytest.approx(-judgement_weight(sleeper))

    sleeper.votes_counted, sleeper.demoted_at = False, timezone.now()
    sleeper.save(update_fields=["votes_counted", "demoted_at"])
    assert contributor_votes_recount(contributor_id=sleeper.pk) == 1

    item.refresh_from_db()
    weight = judgement_weight(housemate)
    assert item.evidence == pytest.approx(weight)
    assert Vote.objects.get(contributor=housemate).weight == pytest.approx(weight)
    # Settled: a recount of the housemate changes nothing, and the rule still holds.
    assert contributor_votes_recount(contributor_id=housemate.pk) == 0
