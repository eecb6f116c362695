"""Every moderation decision lands in the audit trail, written by the service that makes it."""

import pytest

from annotations.services import (
    annotation_gold_mark,
    annotation_revise,
    annotation_revision_restore,
)
from contributors.models import TrustLevel
from contributors.services import contributor_claim_for_user
from labels_app.models import LabelSuggestion
from labels_app.services import suggestion_accept, suggestion_reject
from moderation.models import ModerationAction
from tests.factories import (
    ContributorFactory,
    ImageLabelFactory,
    ModeratorFactory,
    submitted_annotation,
)
from trust.services import contributor_trust_set
from validations.services import gold_mark

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}


def only_action():
    action = ModerationAction.objects.get()
    return action.kind, action.target_type, action.before, action.after


def test_marking_a_validation_question_as_gold_is_audited():
    moderator = ModeratorFactory()
    image_label = ImageLabelFactory()

    gold_mark(image_label=image_label, answer="yes", pool="training", by=moderator)

    assert only_action() == (
        "gold",
        "labels_app.imagelabel",
        {"gold_answer": "", "gold_pool": ""},
        {"gold_answer": "yes", "gold_pool": "training"},
    )
    assert ModerationAction.objects.get().actor == moderator


def test_marking_an_annotation_as_gold_is_audited():
    annotation = submitted_annotation(shapes=[RECT])

    annotation_gold_mark(annotation=annotation, answer="good", by=ModeratorFactory())

    assert only_action() == (
        "gold",
        "annotations.annotation",
        {"gold_answer": "", "revision": 1},
        {"gold_answer": "good", "revision": 1},
    )


def test_restoring_a_revision_is_audited():
    annotation = submitted_annotation(shapes=[RECT])
    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[{**RECT, "x": 0.3}],
    )
    moderator = ModeratorFactory()

    annotation_revision_restore(
        annotation=annotation,
        number=1,
        moderator=contributor_claim_for_user(anonymous=None, user=moderator),
    )

    kind, _target_type, before, after = only_action()
    assert (kind, before, after) == (
        "restore",
        {"revision": 2},
        {"revision": 3, "restored_from": 1},
    )
    assert ModerationAction.objects.get().actor == moderator


def test_a_trust_override_is_audited():
    contributor = ContributorFactory(trust_level=TrustLevel.NEWCOMER)

    contributor_trust_set(
        contributor=contributor, level=TrustLevel.TRUSTED, locked=True, by=ModeratorFactory()
    )

    assert only_action() == (
        "trust",
        "contributors.contributor",
        {"trust_level": 0, "locked": False},
        {"trust_level": 2, "locked": True},
    )


@pytest.mark.parametrize("accept", [True, False])
def test_deciding_a_label_suggestion_is_audited(accept):
    suggestion = LabelSuggestion.objects.create(term="quokka", text="Quokka")
    moderator = ModeratorFactory()

    if accept:
        suggestion_accept(suggestion=suggestion, moderator=moderator)
    else:
        suggestion_reject(suggestion=suggestion, moderator=moderator)

    kind, target_type, before, after = only_action()
    assert (kind, target_type, before) == (
        "suggestion",
        "labels_app.labelsuggestion",
        {"state": "open"},
    )
    assert after["state"] == ("accepted" if accept else "rejected")
