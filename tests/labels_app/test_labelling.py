import random

import pytest

from core.errors import DomainError
from donations.models import ImageStatus
from labels_app.models import (
    ImageLabel,
    LabellingVisit,
    LabelSuggestion,
    LabelTerm,
    SuggestionState,
    TermKind,
)
from labels_app.services import (
    labelling_skip,
    labels_add,
    next_labelling_task,
    suggestion_accept,
    suggestion_reject,
)
from tests.factories import ContributorFactory, ImageFactory, LabelFactory, ModeratorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dog():
    label = LabelFactory(name="dog", plural="dogs")
    LabelTerm.objects.create(term="puppy", display="puppy", kind=TermKind.ALIAS, label=label)
    return label


def test_catalog_words_become_image_labels_open_for_validation(dog):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    LabelFactory(name="tree")

    result = labels_add(contributor=ContributorFactory(), image=image, texts=["Dogs", "tree"])

    assert sorted(il.label.name for il in result.added) == ["dog", "tree"]
    assert all(il.in_queue for il in result.added)
    image.refresh_from_db()
    assert image.label_count == 2


def test_aliases_and_plurals_mean_the_same_label(dog):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    result = labels_add(contributor=ContributorFactory(), image=image, texts=["puppy", "DOGS"])

    assert [il.label for il in result.added] == [dog]
    assert ImageLabel.objects.count() == 1


def test_a_label_already_on_the_image_is_not_added_twice(dog):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    labels_add(contributor=ContributorFactory(), image=image, texts=["dog"])

    result = labels_add(contributor=ContributorFactory(), image=image, texts=["dog"])

    assert result.added == []
    assert [il.label for il in result.already_there] == [dog]
    image.refresh_from_db()
    assert image.label_count == 1


def test_unknown_words_become_counted_suggestions_with_spelling_variants_merged():
    first, second = (
        ImageFactory(status=ImageStatus.UNLOCKED),
        ImageFactory(status=ImageStatus.UNLOCKED),
    )

    labels_add(contributor=ContributorFactory(), image=first, texts=["Garden_Gnomes"])
    labels_add(contributor=ContributorFactory(), image=second, texts=["garden gnome"])
    labels_add(contributor=ContributorFactory(), image=second, texts=["garden-gnome"])

    suggestion = LabelSuggestion.objects.get()
    assert suggestion.term == "garden gnome"
    assert suggestion.use_count == 2  # once per image
    assert ImageLabel.objects.count() == 0


def test_accepting_a_suggestion_as_a_new_label_attaches_it_where_it_was_used():
    images = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(2)]
    for image in images:
        labels_add(contributor=ContributorFactory(), image=image, texts=["garden gnome"])
    suggestion = LabelSuggestion.objects.get()

    label = suggestion_accept(suggestion=suggestion, moderator=ModeratorFactory())

    assert label.name == "garden gnome"
    assert set(ImageLabel.objects.values_list("image_id", flat=True)) == {i.pk for i in images}
    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.ACCEPTED
    # the word now means the label for everyone
    other = ImageFactory(status=ImageStatus.UNLOCKED)
    result = labels_add(contributor=ContributorFactory(), image=other, texts=["garden gnomes"])
    assert [il.label for il in result.added] == [label]


def test_accepting_a_suggestion_as_an_alias_merges_it_into_an_existing_label(dog):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    labels_add(contributor=ContributorFactory(), image=image, texts=["doggo"])

    suggestion_accept(
        suggestion=LabelSuggestion.objects.get(), moderator=ModeratorFactory(), alias_of=dog
    )

    assert ImageLabel.objects.get().label == dog
    assert LabelTerm.objects.get(term="doggo").label == dog


def test_a_rejected_suggestion_attaches_nothing_and_can_still_be_accepted_later():
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    labels_add(contributor=ContributorFactory(), image=image, texts=["gnome"])
    suggestion = LabelSuggestion.objects.get()

    suggestion_reject(suggestion=suggestion, moderator=ModeratorFactory())

    suggestion.refresh_from_db()
    assert suggestion.state == SuggestionState.REJECTED
    assert ImageLabel.objects.count() == 0
    suggestion_accept(suggestion=suggestion, moderator=ModeratorFactory())
    assert ImageLabel.objects.count() == 1


def test_a_suggestion_cannot_be_accepted_twice():
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    labels_add(contributor=ContributorFactory(), image=image, texts=["gnome"])
    suggestion = LabelSuggestion.objects.get()
    suggestion_accept(suggestion=suggestion, moderator=ModeratorFactory())

    with pytest.raises(DomainError) as caught:
        suggestion_accept(suggestion=suggestion, moderator=ModeratorFactory())

    assert (caught.value.status, caught.value.code) == (409, "already_decided")


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        ([], "no_labels"),
        (["   "], "empty_label"),
        (["x" * 10_000], "label_too_long"),
        (["dog\x00"], "invalid_label"),
        ([f"word{i}" for i in range(21)], "too_many"),
    ],
)
def test_bad_label_input_is_refused_and_nothing_is_stored(texts, code):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    with pytest.raises(DomainError) as caught:
        labels_add(contributor=ContributorFactory(), image=image, texts=texts)

    assert caught.value.code == code
    assert ImageLabel.objects.count() == LabelSuggestion.objects.count() == 0
    assert LabellingVisit.objects.count() == 0


def test_pending_images_can_be_labelled_by_their_donor_only(dog):
    donor = ContributorFactory()
    image = ImageFactory(donor=donor)

    result = labels_add(contributor=donor, image=image, texts=["dog"])
    with pytest.raises(DomainError) as caught:
        labels_add(contributor=ContributorFactory(), image=image, texts=["dog"])

    assert result.added[0].in_queue is False  # joins the queue when the image is unlocked
    assert (caught.value.status, caught.value.code) == (409, "not_labellable")


def test_next_labelling_task_prefers_images_with_fewest_labels(dog):
    labelled = ImageFactory(status=ImageStatus.UNLOCKED)
    labels_add(contributor=ContributorFactory(), image=labelled, texts=["dog"])
    bare = ImageFactory(status=ImageStatus.UNLOCKED)

    offered = {next_labelling_task(contributor=None, rng=random.Random(s)) for s in range(10)}

    assert offered == {bare}


def test_next_labelling_task_skips_images_the_contributor_labelled_or_skipped(dog):
    contributor = ContributorFactory()
    images = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(3)]
    labels_add(contributor=contributor, image=images[0], texts=["dog"])
    labelling_skip(contributor=contributor, image=images[1])

    offered = {
        next_labelling_task(contributor=contributor, rng=random.Random(s)) for s in range(10)
    }

    assert offered == {images[2]}
    labelling_skip(contributor=contributor, image=images[2])
    assert next_labelling_task(contributor=contributor) is None


def test_next_labelling_task_ignores_pending_images():
    ImageFactory()

    assert next_labelling_task(contributor=None) is None
