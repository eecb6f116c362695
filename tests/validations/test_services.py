import math
import random

import pytest

from contributors.models import TrustLevel
from core.errors import DomainError
from donations.models import ImageStatus
from labels_app.models import ImageLabel, ImageLabelState
from tests.factories import (
    ContributorFactory,
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    VoterFactory,
)
from tests.served import vote_cast, votes_cast_batch
from trust.services import judgement_weight
from validations.models import ValidationSkip, Vote
from validations.services import (
    contributor_votes_recount,
    gold_mark,
    next_validation_grid,
    next_validation_task,
    validation_skip,
)

pytestmark = pytest.mark.django_db


def weight_of(correct: int, answered: int) -> float:
    accuracy = (correct + 1) / (answered + 2)
    return math.log(accuracy / (1 - accuracy))


def test_vote_from_trainee_is_stored_but_not_counted():
    image_label = ImageLabelFactory()

    result = vote_cast(
        contributor=ContributorFactory(), image_label_id=image_label.pk, answer="yes"
    )

    image_label.refresh_from_db()
    assert result.vote.counted is False
    assert result.vote.weight == 0
    assert (image_label.yes_count, image_label.counted_votes, image_label.evidence) == (1, 0, 0)
    assert image_label.state == ImageLabelState.OPEN


def test_vote_from_a_trained_voter_adds_evidence_weighted_by_their_gold_record():
    image_label = ImageLabelFactory()
    voter = VoterFactory(gold_answered=10, gold_correct=9)

    vote_cast(contributor=voter, image_label_id=image_label.pk, answer="no")

    image_label.refresh_from_db()
    assert image_label.evidence == pytest.approx(-weight_of(9, 10))
    assert image_label.probability == pytest.approx(1 / (1 + math.exp(weight_of(9, 10))))
    assert image_label.counted_votes == 1
    assert image_label.no_count == 1


def test_agreeing_votes_confirm_an_image_label_and_take_it_out_of_the_queue():
    image_label = ImageLabelFactory()

    # 9 of 10 gold right: weight log(10/2) ≈ 1.61, so three agreeing votes pass log(99) ≈ 4.6.
    for _ in range(3):
        voter = VoterFactory(gold_answered=10, gold_correct=9)
        vote_cast(contributor=voter, image_label_id=image_label.pk, answer="yes")

    image_label.refresh_from_db()
    assert image_label.state == ImageLabelState.CONFIRMED
    assert image_label.probability > 0.99
    assert image_label.in_queue is False


def test_agreeing_no_votes_reject_an_image_label():
    image_label = ImageLabelFactory()

    for _ in range(3):
        voter = VoterFactory(gold_answered=10, gold_correct=9)
        vote_cast(contributor=voter, image_label_id=image_label.pk, answer="no")

    image_label.refresh_from_db()
    assert image_label.state == ImageLabelState.REJECTED
    assert image_label.probability < 0.01


def test_unsure_adds_no_evidence_but_is_remembered():
    image_label = ImageLabelFactory()
    voter = VoterFactory()

    vote_cast(contributor=voter, image_label_id=image_label.pk, answer="unsure")

    image_label.refresh_from_db()
    assert (image_label.unsure_count, image_label.evidence) == (1, 0)
    assert next_validation_task(contributor=voter) is None


def test_moderator_votes_carry_the_moderator_weight(settings):
    settings.CONSENSUS_MODERATOR_WEIGHT = 4.0
    image_label = ImageLabelFactory()
    moderator = ContributorFactory(trust_level=TrustLevel.MODERATOR)

    vote_cast(contributor=moderator, image_label_id=image_label.pk, answer="yes")

    image_label.refresh_from_db()
    assert image_label.evidence == pytest.approx(4.0)


def test_second_vote_on_the_same_item_is_a_conflict_and_the_first_stands():
    image_label = ImageLabelFactory()
    voter = VoterFactory()
    vote_cast(contributor=voter, image_label_id=image_label.pk, answer="yes")

    with pytest.raises(DomainError) as caught:
        vote_cast(contributor=voter, image_label_id=image_label.pk, answer="no")

    assert (caught.value.status, caught.value.code) == (409, "already_answered")
    assert Vote.objects.get().answer == "yes"
    image_label.refresh_from_db()
    assert (image_label.yes_count, image_label.no_count) == (1, 0)


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: 999_999, 404, "not_found"),
        (lambda: "abc", 404, "not_found"),
        (lambda: ImageLabelFactory(image=ImageFactory()).pk, 409, "image_not_public"),
    ],
    ids=["missing", "not-a-number", "pending-image"],
)
def test_votes_on_items_that_cannot_take_answers_are_refused(make, status, code):
    image_label_id = make()

    with pytest.raises(DomainError) as caught:
        vote_cast(contributor=VoterFactory(), image_label_id=image_label_id, answer="yes")

    assert (caught.value.status, caught.value.code) == (status, code)
    assert Vote.objects.count() == 0


def test_unknown_answer_is_refused():
    image_label = ImageLabelFactory()

    with pytest.raises(DomainError) as caught:
        vote_cast(contributor=VoterFactory(), image_label_id=image_label.pk, answer="maybe")

    assert caught.value.message == "Unknown answer 'maybe': use 'yes', 'no' or 'unsure'."
    assert Vote.objects.count() == 0


def test_a_visitor_asking_again_and_again_is_not_handed_only_gold(settings):
    ordinary = {ImageLabelFactory().pk for _ in range(30)}
    gold = {GoldImageLabelFactory().pk for _ in range(30)}
    rng = random.Random(7)

    served = [next_validation_task(contributor=None, rng=rng).pk for _ in range(300)]

    # Gold also waits in the ordinary queue looking like any item, so only a floor is exact:
    # the ordinary items a gold-every-time rule would never show.
    ordinary_share = sum(pk in ordinary for pk in served) / len(served)
    assert ordinary_share > (1 - settings.GOLD_RATE_TRAINING) / 3
    assert set(served) <= ordinary | gold


def test_gold_answer_while_training_says_whether_it_was_right():
    gold = GoldImageLabelFactory(gold_answer="no")
    trainee = ContributorFactory()

    result = vote_cast(contributor=trainee, image_label_id=gold.pk, answer="yes")

    trainee.refresh_from_db()
    assert result.feedback == {"correct": False, "expected": "no", "training_passed": False}
    assert (trainee.gold_answered, trainee.gold_correct) == (1, 0)
    gold.refresh_from_db()
    # Publicly it is an item like any other: its numbers come from the answers it got.
    assert (gold.state, gold.yes_count, gold.gold_trainees) == (ImageLabelState.OPEN, 1, 1)


def test_passing_training_makes_earlier_votes_count(django_capture_on_commit_callbacks):
    trainee = ContributorFactory()
    earlier = ImageLabelFactory()
    vote_cast(contributor=trainee, image_label_id=earlier.pk, answer="yes")
    golds = [GoldImageLabelFactory() for _ in range(5)]

    with django_capture_on_commit_callbacks(execute=True):
        results = [
            vote_cast(contributor=trainee, image_label_id=gold.pk, answer="yes") for gold in golds
        ]

    trainee.refresh_from_db()
    earlier.refresh_from_db()
    assert results[-1].feedback["training_passed"] is True
    assert trainee.votes_counted is True
    assert trainee.trust_level == TrustLevel.CONTRIBUTOR
    assert Vote.objects.get(image_label=earlier).counted is True
    # Five right gold answers (1.79) are capped by an agreement record not yet begun: a new
    # identity's weight starts at the prior's log-odds, log((0 + 2) / (0 + 3) / (1 / 3)).
    assert earlier.evidence == pytest.approx(math.log(2))


def demoted_voter(django_capture_on_commit_callbacks, items):
    """A counting voter who answered `items` "yes", then got six hidden checks wrong."""
    voter = VoterFactory(gold_answered=5, gold_correct=5)
    for item in items:
        vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")
    wrong_gold = [GoldImageLabelFactory(gold_answer="no", gold_pool="hidden") for _ in range(6)]
    with django_capture_on_commit_callbacks(execute=True):
        for gold in wrong_gold:
            vote_cast(contributor=voter, image_label_id=gold.pk, answer="yes")
    voter.refresh_from_db()
    return voter


def test_a_voter_below_the_threshold_loses_all_counted_votes(django_capture_on_commit_callbacks):
    items = [ImageLabelFactory() for _ in range(3)]

    voter = demoted_voter(django_capture_on_commit_callbacks, items)

    assert voter.votes_counted is False
    assert voter.demoted_at is not None
    assert voter.trust_level == TrustLevel.NEWCOMER
    assert Vote.objects.filter(contributor=voter, counted=True).count() == 0
    for item in items:
        item.refresh_from_db()
        assert item.evidence == pytest.approx(0)
        assert item.counted_votes == 0
        assert item.yes_count == 1  # the raw answer stays on record


def test_a_demotion_sticks_until_fresh_hidden_gold_and_then_only_later_votes_count(
    django_capture_on_commit_callbacks,
):
    items = [ImageLabelFactory() for _ in range(3)]
    voter = demoted_voter(django_capture_on_commit_callbacks, items)
    # The old record (now 5 of 11) would never do; right answers after the demotion must.
    checks = [GoldImageLabelFactory(gold_answer="yes", gold_pool="hidden") for _ in range(10)]

    with django_capture_on_commit_callbacks(execute=True):
        for check in checks[:9]:
            result = vote_cast(contributor=voter, image_label_id=check.pk, answer="yes")
            assert result.feedback is None  # hidden checks say nothing, demoted or not
        voter.refresh_from_db()
        assert voter.votes_counted is False
        vote_cast(contributor=voter, image_label_id=checks[9].pk, answer="yes")

    voter.refresh_from_db()
    assert voter.votes_counted is True
    assert voter.probation_gold_answered == voter.probation_gold_correct == 10
    assert voter.counting_since is not None
    # What was answered before the demotion and during probation stays uncounted.
    assert not Vote.objects.filter(contributor=voter, counted=True).exists()
    for item in items:
        item.refresh_from_db()
        assert item.evidence == pytest.approx(0)
    later = ImageLabelFactory()
    assert vote_cast(contributor=voter, image_label_id=later.pk, answer="yes").vote.counted
    assert contributor_votes_recount(contributor_id=voter.pk) == 0


def test_recount_is_idempotent():
    voter = VoterFactory()
    item = ImageLabelFactory()
    vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")

    assert contributor_votes_recount(contributor_id=voter.pk) == 0
    item.refresh_from_db()
    assert item.counted_votes == 1


def test_a_locked_trust_level_is_not_changed_by_the_rules(django_capture_on_commit_callbacks):
    voter = VoterFactory(trust_level=TrustLevel.TRUSTED, trust_level_locked=True)

    with django_capture_on_commit_callbacks(execute=True):
        for gold in [GoldImageLabelFactory(gold_answer="no") for _ in range(12)]:
            vote_cast(contributor=voter, image_label_id=gold.pk, answer="yes")

    voter.refresh_from_db()
    assert voter.trust_level == TrustLevel.TRUSTED
    assert voter.votes_counted is False  # counting still follows the gold record


def test_many_correct_gold_answers_promote_to_trusted(settings):
    settings.TRUST_TRUSTED_MIN_GOLD = 10
    voter = VoterFactory(gold_answered=0, gold_correct=0)

    for gold in [GoldImageLabelFactory() for _ in range(12)]:
        vote_cast(contributor=voter, image_label_id=gold.pk, answer="yes")

    voter.refresh_from_db()
    assert voter.trust_level == TrustLevel.TRUSTED


def test_next_task_never_offers_what_was_answered_or_skipped(settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    voter = VoterFactory()
    items = [ImageLabelFactory() for _ in range(3)]
    vote_cast(contributor=voter, image_label_id=items[0].pk, answer="yes")
    validation_skip(contributor=voter, image_label_id=items[1].pk)

    offered = {
        next_validation_task(contributor=voter, rng=random.Random(seed)) for seed in range(20)
    }

    assert offered == {items[2]}
    assert ValidationSkip.objects.filter(contributor=voter).count() == 1


def test_next_task_favours_items_with_fewest_counted_votes(settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    busy = ImageLabelFactory()
    vote_cast(contributor=VoterFactory(), image_label_id=busy.pk, answer="yes")
    fresh = ImageLabelFactory()

    offered = {
        next_validation_task(contributor=VoterFactory(), rng=random.Random(s)) for s in range(20)
    }

    assert offered == {fresh}


def test_next_task_can_be_restricted_to_one_label(settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    dog = LabelFactory(name="dog")
    ImageLabelFactory(label=LabelFactory(name="cat"))
    wanted = ImageLabelFactory(label=dog)

    assert next_validation_task(contributor=VoterFactory(), label=dog) == wanted


def test_pending_images_are_not_in_the_queue_until_unlocked():
    from donations.services import image_review
    from tests.factories import ModeratorFactory

    image = ImageFactory()
    image_label = ImageLabelFactory(image=image, in_queue=False)
    voter = VoterFactory()
    assert next_validation_task(contributor=voter) is None

    image_review(image_ids=[image.pk], decision=ImageStatus.UNLOCKED, reviewer=ModeratorFactory())

    assert next_validation_task(contributor=voter) == image_label


def test_next_task_uses_a_bounded_number_of_queries(django_assert_max_num_queries):
    for _ in range(30):
        ImageLabelFactory()
    voter = VoterFactory()

    with django_assert_max_num_queries(4):
        task = next_validation_task(contributor=voter, rng=random.Random(1))
        assert task.image.pk and task.label.name


def test_gold_mark_keeps_the_known_answer_private_and_the_item_ordinary():
    image_label = ImageLabelFactory()
    before = ImageLabel.objects.values().get(pk=image_label.pk)

    gold_mark(image_label=image_label, answer="no", by=None)

    after = ImageLabel.objects.values().get(pk=image_label.pk)
    assert image_label.is_gold
    assert (image_label.gold_answer, image_label.gold_pool) == ("no", "hidden")
    changed = {field for field in before if before[field] != after[field]}
    assert changed == {"gold_answer", "gold_pool"}


def test_a_decided_item_handed_out_again_takes_answers_that_can_reopen_it():
    item = ImageLabelFactory()
    voters = [VoterFactory(gold_answered=60, gold_correct=60) for _ in range(6)]
    for voter in voters[:3]:
        vote_cast(contributor=voter, image_label_id=item.pk, answer="yes")
    item.refresh_from_db()
    assert item.state == ImageLabelState.CONFIRMED

    for voter in voters[3:]:
        vote_cast(contributor=voter, image_label_id=item.pk, answer="no")

    item.refresh_from_db()
    assert item.state == ImageLabelState.OPEN
    assert (item.yes_count, item.no_count) == (3, 3)


def test_training_gold_retires_after_enough_trainees_saw_its_answer(settings):
    settings.TRAINING_GOLD_MAX_TRAINEES = 3
    gold = GoldImageLabelFactory(gold_answer="no")

    for _ in range(3):
        vote_cast(contributor=ContributorFactory(), image_label_id=gold.pk, answer="no")

    gold.refresh_from_db()
    assert (gold.gold_trainees, gold.gold_pool) == (3, "retired")
    # It stays an ordinary question, but teaches (and reveals) nothing any more.
    latecomer = ContributorFactory()
    late = vote_cast(contributor=latecomer, image_label_id=gold.pk, answer="yes")
    latecomer.refresh_from_db()
    assert late.feedback is None
    assert latecomer.gold_answered == 0


def test_a_flood_from_one_network_cannot_use_up_a_training_item(settings):
    settings.TRAINING_GOLD_MAX_TRAINEES = 3
    gold = GoldImageLabelFactory(gold_answer="no")

    for _ in range(10):
        vote_cast(
            contributor=ContributorFactory(), image_label_id=gold.pk, answer="no", network="aa"
        )
    gold.refresh_from_db()
    assert (gold.gold_trainees, gold.gold_pool) == (1, "training")

    for network in ("bb", "cc"):
        vote_cast(
            contributor=ContributorFactory(), image_label_id=gold.pk, answer="no", network=network
        )
    gold.refresh_from_db()
    assert (gold.gold_trainees, gold.gold_pool) == (3, "retired")


def test_hidden_gold_checks_silently_and_trainees_learn_on_training_gold():
    hidden = GoldImageLabelFactory(gold_answer="no", gold_pool="hidden")
    training = GoldImageLabelFactory(gold_answer="no")
    voter, trainee = VoterFactory(), ContributorFactory()

    checked = vote_cast(contributor=voter, image_label_id=hidden.pk, answer="yes")
    taught = vote_cast(contributor=trainee, image_label_id=training.pk, answer="yes")

    voter.refresh_from_db()
    assert checked.feedback is None
    assert (voter.gold_answered, voter.gold_correct) == (11, 10)
    assert taught.feedback["expected"] == "no"
    assert next_validation_task(contributor=ContributorFactory()) == training


def test_batch_votes_store_all_answers():
    label = LabelFactory(name="dog")
    items = [ImageLabelFactory(label=label) for _ in range(3)]
    voter = VoterFactory()

    results = votes_cast_batch(
        contributor=voter,
        answers=[
            {"image_label": item.pk, "answer": "no" if i == 0 else "yes"}
            for i, item in enumerate(items)
        ],
    )

    assert [r.vote.answer for r in results] == ["no", "yes", "yes"]
    assert Vote.objects.filter(contributor=voter).count() == 3
    voter.refresh_from_db()
    assert voter.votes_cast == 3
    evidence = [ImageLabel.objects.get(pk=item.pk).evidence for item in items]
    weight = judgement_weight(voter)
    assert evidence == [pytest.approx(-weight), pytest.approx(weight), pytest.approx(weight)]


def test_batch_votes_on_gold_train_like_single_votes():
    gold = GoldImageLabelFactory(gold_answer="no")
    item = ImageLabelFactory()
    trainee = ContributorFactory()

    results = votes_cast_batch(
        contributor=trainee,
        answers=[
            {"image_label": gold.pk, "answer": "yes"},
            {"image_label": item.pk, "answer": "yes"},
        ],
    )

    trainee.refresh_from_db()
    assert results[0].feedback == {"correct": False, "expected": "no", "training_passed": False}
    assert (results[1].feedback, results[1].vote.counted) == (None, False)
    assert (trainee.gold_answered, trainee.gold_correct) == (1, 0)


def test_batch_votes_cost_the_same_queries_per_answer(django_assert_num_queries):
    label = LabelFactory(name="dog")
    voter = VoterFactory()

    def batch(size):
        items = [ImageLabelFactory(label=label) for _ in range(size)]
        return [{"image_label": item.pk, "answer": "yes"} for item in items]

    two, twelve = batch(2), batch(12)
    # The batch's savepoint pair, the items, the answered-check, the insert (in a savepoint),
    # the voter's tally; per answer one consensus UPDATE and one read of the decision.
    with django_assert_num_queries(8 + 2 * 2):
        votes_cast_batch(contributor=voter, answers=two)
    with django_assert_num_queries(8 + 2 * 12):
        votes_cast_batch(contributor=voter, answers=twelve)


def test_batch_votes_are_all_or_nothing():
    good = ImageLabelFactory()
    voter = VoterFactory()

    with pytest.raises(DomainError) as caught:
        votes_cast_batch(
            contributor=voter,
            answers=[
                {"image_label": good.pk, "answer": "yes"},
                {"image_label": 0, "answer": "yes"},
            ],
        )

    assert caught.value.message == "Answer 2: There is no such image-label."
    assert Vote.objects.count() == 0


def test_grid_offers_open_items_of_one_label_not_seen_before():
    dog = LabelFactory(name="dog")
    items = [ImageLabelFactory(label=dog) for _ in range(5)]
    ImageLabelFactory(label=LabelFactory(name="cat"))
    voter = VoterFactory()
    vote_cast(contributor=voter, image_label_id=items[0].pk, answer="yes")

    grid = next_validation_grid(contributor=voter, label=dog, size=12)

    assert sorted(item.pk for item in grid) == sorted(item.pk for item in items[1:])


def test_a_share_of_tasks_hands_a_thinly_decided_item_out_again(settings):
    settings.RECHECK_RATE = 1.0
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    ImageLabelFactory()
    thin = ImageLabelFactory(state=ImageLabelState.CONFIRMED, in_queue=False, counted_votes=2)
    ImageLabelFactory(state=ImageLabelState.CONFIRMED, in_queue=False, counted_votes=9)
    voter = VoterFactory()

    task = next_validation_task(contributor=voter)
    answered = vote_cast(contributor=voter, image_label_id=thin.pk, answer="no")

    assert task == thin
    assert answered.vote.counted
