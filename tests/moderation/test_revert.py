"""The vandal button: a contributor's work neutralised in one audited step, and the undo."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from annotations.models import Annotation
from annotations.services import annotation_revise
from contributors.models import Contributor
from core.errors import DomainError
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabel
from labels_app.services import labels_add
from moderation.models import ModerationAction, Report, ReportCase, Revert, RevertState
from moderation.services import report_submit, revert_preview, revert_start, revert_undo
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    VoterFactory,
    submitted_annotation,
)
from validations.models import Vote
from validations.services import record_answer

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
VANDAL_RECT = {"type": "rect", "x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0}


@pytest.fixture
def moderator():
    return ModeratorFactory(moderation=["add_revert", "undo_revert", "add_ban", "view_revert"])


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def state_of(vandalised):
    """Everything the revert touches, as comparable values."""
    question = ImageLabel.objects.get(pk=vandalised["question"].pk)
    label = ImageLabel.objects.get(pk=vandalised["their_label"].pk)
    annotation = Annotation.objects.get(pk=vandalised["annotation"].pk)
    return {
        "evidence": round(question.evidence, 9),
        "counted_votes": question.counted_votes,
        "label": (label.withdrawn, label.in_queue),
        "shapes": annotation.shapes,
        "review": (annotation.good_count, annotation.review_state),
        "donation": Image.objects.get(pk=vandalised["donation"].pk).status,
        "case_score": round(ReportCase.objects.get().score, 9),
        "report_weight": Report.objects.get(reporter=vandalised["vandal"]).weight,
    }


@pytest.fixture
def vandalised(commit):
    """A counting voter who voted against the crowd, added a label only they support, redrew
    someone else's outline, donated a public image and reported a good one."""
    vandal = VoterFactory()
    honest = VoterFactory()
    question = ImageLabelFactory(label=LabelFactory(name="dog"))
    commit(record_answer, contributor=honest, image_label=question, answer="yes")
    commit(record_answer, contributor=vandal, image_label=question, answer="no")
    public = ImageFactory(status=ImageStatus.UNLOCKED)
    LabelFactory(name="spam")
    commit(labels_add, contributor=vandal, image=public, texts=["spam"])
    annotation = submitted_annotation(shapes=[RECT])
    commit(
        annotation_revise,
        contributor=vandal,
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[VANDAL_RECT],
    )
    donation = ImageFactory(status=ImageStatus.UNLOCKED, donor=vandal)
    reported = ImageFactory(status=ImageStatus.UNLOCKED)
    commit(report_submit, reporter=vandal, image_id=reported.pk, reason="spam", network="v")
    return {
        "vandal": vandal,
        "honest": honest,
        "question": question,
        "their_label": ImageLabel.objects.get(image=public, label__name="spam"),
        "annotation": annotation,
        "donation": donation,
    }


def test_the_preview_counts_everything_they_did(vandalised):
    preview = dict(revert_preview(vandalised["vandal"]))

    assert preview["Labels validated"] == 1
    assert preview["Reports"] == 1
    assert preview["Labels they added that nobody else supports (withdrawn)"] == 1
    assert preview["Public donations (hidden pending review)"] == 1


def test_a_revert_neutralises_their_work_and_deletes_nothing(vandalised, moderator, commit):
    before = state_of(vandalised)
    votes_before = Vote.objects.count()
    their_image = str(vandalised["their_label"].image_id)
    assert their_image in Client().get("/images/", {"q": "spam"}).content.decode()

    revert = commit(
        revert_start, contributor=vandalised["vandal"], moderator=moderator, reason="Vandal"
    )

    revert.refresh_from_db()
    assert revert.state == RevertState.DONE
    assert revert.done == revert.total > 0
    after = state_of(vandalised)
    assert after["evidence"] > before["evidence"]  # their "no" no longer pulls it down
    assert after["counted_votes"] == before["counted_votes"] - 1
    assert after["label"] == (True, False)
    assert after["shapes"] == [RECT] and before["shapes"] == [VANDAL_RECT]
    assert after["donation"] == ImageStatus.PENDING
    assert after["report_weight"] == 0 and after["case_score"] == 0
    assert Vote.objects.count() == votes_before
    assert revert.summary["labels_withdrawn"] == 1
    assert revert.summary["annotations_restored"] == 1
    assert ModerationAction.objects.filter(kind="revert").exists()
    # The withdrawn label is out of the listings.
    their_label = vandalised["their_label"]
    response = Client().get(f"/api/images/{their_label.image_id}/labels/")
    assert response.json() == []
    assert their_image not in Client().get("/images/", {"q": "spam"}).content.decode()


def test_undo_puts_back_exactly_what_the_revert_changed(vandalised, moderator, commit):
    before = state_of(vandalised)
    revert = commit(
        revert_start,
        contributor=vandalised["vandal"],
        moderator=moderator,
        reason="Oops",
        ban=True,
    )
    assert Contributor.objects.get(pk=vandalised["vandal"].pk).is_banned

    commit(revert_undo, revert_id=revert.pk, moderator=moderator)

    revert.refresh_from_db()
    assert revert.state == RevertState.UNDONE
    assert state_of(vandalised) == before
    vandal = Contributor.objects.get(pk=vandalised["vandal"].pk)
    assert vandal.reverted_at is None and not vandal.is_banned
    kinds = set(ModerationAction.objects.values_list("kind", flat=True))
    assert {"revert", "undo", "ban", "lift"} <= kinds


def test_votes_by_others_during_a_revert_and_its_undo_all_count(
    vandalised, moderator, django_capture_on_commit_callbacks
):
    from moderation.services import revert_run, revert_undo_run

    question = vandalised["question"]
    with django_capture_on_commit_callbacks(execute=False):  # the task waits in its queue
        revert = revert_start(contributor=vandalised["vandal"], moderator=moderator, reason="x")
    latecomer = VoterFactory()
    record_answer(contributor=latecomer, image_label=question, answer="yes")
    with_latecomer = ImageLabel.objects.get(pk=question.pk).evidence

    revert_run(revert_id=revert.pk)
    reverted = ImageLabel.objects.get(pk=question.pk)
    another = VoterFactory()
    record_answer(contributor=another, image_label=question, answer="yes")
    with django_capture_on_commit_callbacks(execute=False):
        revert_undo(revert_id=revert.pk, moderator=moderator)
    revert_undo_run(revert_id=revert.pk)

    undone = ImageLabel.objects.get(pk=question.pk)
    assert reverted.evidence > with_latecomer  # only the vandal's vote came out
    assert Vote.objects.filter(image_label=question, counted=True).count() == 4
    vote_weight = Vote.objects.get(contributor=another).weight
    assert undone.evidence == pytest.approx(with_latecomer + vote_weight)


def test_their_new_votes_do_not_count_while_the_revert_stands(vandalised, moderator, commit):
    commit(revert_start, contributor=vandalised["vandal"], moderator=moderator, reason="x")
    vandal = Contributor.objects.get(pk=vandalised["vandal"].pk)

    commit(record_answer, contributor=vandal, image_label=ImageLabelFactory(), answer="yes")

    assert not Vote.objects.filter(contributor=vandal, counted=True).exists()


def test_an_outline_someone_redrew_after_the_revert_is_not_overwritten_by_the_undo(
    vandalised, moderator, commit
):
    revert = commit(revert_start, contributor=vandalised["vandal"], moderator=moderator, reason="x")
    annotation = Annotation.objects.get(pk=vandalised["annotation"].pk)
    fixed = [{**RECT, "x": 0.2}]
    commit(
        annotation_revise,
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=annotation.revision,
        shapes=fixed,
    )

    commit(revert_undo, revert_id=revert.pk, moderator=moderator)

    assert Annotation.objects.get(pk=annotation.pk).shapes == fixed


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("moderator", "cannot_revert_moderator"),
        ("twice", "already_reverted"),
        ("no reason", "reason_required"),
    ],
)
def test_reverts_that_break_a_rule_are_refused(vandalised, moderator, commit, case, code):
    contributor = vandalised["vandal"]
    reason = "x"
    if case == "moderator":
        contributor = ContributorFactory(trust_level=3)
    elif case == "twice":
        commit(revert_start, contributor=contributor, moderator=moderator, reason="x")
    else:
        reason = "  "
    reverts_before = Revert.objects.count()

    with pytest.raises(DomainError) as refused:
        revert_start(contributor=contributor, moderator=moderator, reason=reason)

    assert refused.value.code == code
    assert Revert.objects.count() == reverts_before


def test_staff_without_the_permission_cannot_revert(vandalised):
    with pytest.raises(DomainError) as refused:
        revert_start(contributor=vandalised["vandal"], moderator=ModeratorFactory(), reason="x")
    assert refused.value.code == "permission_denied"


def test_the_admin_previews_starts_and_undoes_a_revert(vandalised, moderator, client, commit):
    moderator.user_permissions.add(*Permission.objects.filter(codename="view_contributor"))
    client.force_login(moderator)
    vandal = vandalised["vandal"]

    contributor_page = client.get(f"/admin/contributors/contributor/{vandal.pk}/change/")
    assert (
        f"/admin/moderation/revert/add/?contributor={vandal.pk}"
        in contributor_page.content.decode()
    )
    preview = client.get(f"/admin/moderation/revert/add/?contributor={vandal.pk}").content.decode()
    assert "Labels they added that nobody else supports (withdrawn)" in preview
    missing_reason = client.post("/admin/moderation/revert/add/", {"contributor": vandal.pk})
    assert "Give the reason for the revert." in missing_reason.content.decode()
    assert not Revert.objects.exists()

    response = commit(
        client.post, "/admin/moderation/revert/add/", {"contributor": vandal.pk, "reason": "Spam"}
    )
    revert = Revert.objects.get()
    assert response["Location"] == f"/admin/moderation/revert/{revert.pk}/change/"
    page = client.get(response["Location"]).content.decode()
    assert "Done" in page and "Undo this revert" in page

    commit(client.post, f"/admin/moderation/revert/{revert.pk}/undo/")
    assert Revert.objects.get().state == RevertState.UNDONE


def rows_of(vandal) -> dict:
    """Every row the contributor's work touched, field by field (annotation revision counters
    and their append-only history aside: a revert and its undo add revisions, never rewrite)."""
    from django.forms.models import model_to_dict

    from annotations.models import AnnotationVote, RefinementAnswer

    def table(queryset, exclude=()):
        return {
            row.pk: {k: v for k, v in model_to_dict(row).items() if k not in exclude}
            for row in queryset.order_by("pk")
        }

    return {
        "votes": table(Vote.objects.all()),
        "image_labels": table(ImageLabel.objects.all()),
        "images": table(Image.objects.all(), exclude=("reviewed_at", "reviewed_by")),
        "reports": table(Report.objects.all()),
        "cases": table(ReportCase.objects.all()),
        "contributors": table(Contributor.objects.all()),
        "annotation_votes": table(AnnotationVote.objects.all()),
        "refinement_answers": table(RefinementAnswer.objects.all()),
        "annotations": table(Annotation.objects.all(), exclude=("revision", "updated_at")),
    }


def test_revert_and_undo_leave_every_row_they_touched_as_it_was(vandalised, moderator, commit):
    from contributors.services import contributor_claim_for_user

    contributor_claim_for_user(anonymous=None, user=moderator)  # the moderator's own row
    before = rows_of(vandalised["vandal"])

    revert = commit(revert_start, contributor=vandalised["vandal"], moderator=moderator, reason="x")
    assert rows_of(vandalised["vandal"]) != before  # the revert changed something
    commit(revert_undo, revert_id=revert.pk, moderator=moderator)

    after = rows_of(vandalised["vandal"])
    for name in before:
        assert after[name] == before[name], name


def test_outlines_only_they_drew_are_hidden_by_the_revert_and_shown_again_by_the_undo(
    moderator, commit
):
    vandal = VoterFactory()
    theirs = submitted_annotation(shapes=[VANDAL_RECT], author=vandal)

    revert = commit(revert_start, contributor=vandal, moderator=moderator, reason="x")
    assert Annotation.objects.get(pk=theirs.pk).hidden
    assert Revert.objects.get(pk=revert.pk).summary["annotations_hidden"] == 1

    commit(revert_undo, revert_id=revert.pk, moderator=moderator)
    shown = Annotation.objects.get(pk=theirs.pk)
    assert not shown.hidden and shown.in_review and shown.shapes == [VANDAL_RECT]
