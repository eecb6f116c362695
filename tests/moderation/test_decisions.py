from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from contributors.models import BANNED_FOR_GOOD, Contributor
from core.errors import DomainError
from donations.models import Image, ImageStatus
from moderation.models import CaseState, ModerationAction, ReportCase, ReporterRecord
from moderation.services import (
    case_dismiss,
    case_remove,
    removed_files_delete,
    report_submit,
)
from tests.factories import ContributorFactory, ImageFactory, ModeratorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return ModeratorFactory(moderation=["decide_reportcase", "add_ban"])


@pytest.fixture
def reported():
    """A public image two reporters reported (not yet hidden)."""
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    reporters = [ContributorFactory(), ContributorFactory()]
    for number, reporter in enumerate(reporters):
        report_submit(reporter=reporter, image_id=image.pk, reason="sexual", network=str(number))
    return ReportCase.objects.get(), image, reporters


def records(reporters):
    return [
        (record.decided, record.upheld)
        for record in ReporterRecord.objects.filter(contributor__in=reporters).order_by("pk")
    ]


def test_dismissing_brings_a_hidden_image_back_and_counts_against_the_reporters(
    reported, moderator
):
    case, image, reporters = reported
    Image.objects.filter(pk=image.pk).update(status=ImageStatus.HIDDEN)

    case_dismiss(case_id=case.pk, moderator=moderator, reason="A beach photo.")

    case.refresh_from_db()
    assert (case.state, case.decided_by) == (CaseState.DISMISSED, moderator)
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED
    assert records(reporters) == [(1, 0), (1, 0)]
    action = ModerationAction.objects.get(kind="dismiss")
    assert (action.actor, action.target_type, action.target_id, action.reason) == (
        moderator,
        "donations.image",
        str(image.pk),
        "A beach photo.",
    )
    assert (action.before, action.after) == ({"status": "hidden"}, {"status": "unlocked"})


def test_removing_takes_the_image_out_and_moves_its_files_to_the_protected_folder(
    reported, moderator, stored_files, django_capture_on_commit_callbacks
):
    case, image, reporters = reported

    with django_capture_on_commit_callbacks(execute=True):
        case_remove(case_id=case.pk, moderator=moderator)

    image.refresh_from_db()
    assert image.status == ImageStatus.REMOVED
    assert records(reporters) == [(1, 1), (1, 1)]
    assert all(name.startswith("removed/") for name in stored_files())
    assert image.file.name.startswith("removed/images/")
    assert len(stored_files()) == 3
    # Out for everyone but moderators, its donor included.
    donor = APIClient()
    session = donor.session  # the donor's own browser
    session["contributor_id"] = image.donor_id
    session.save()
    assert donor.get(f"/api/images/{image.pk}/").status_code == 404
    assert Client().get(f"/images/{image.pk}/file/full").status_code == 404
    staff = Client()
    staff.force_login(moderator)
    assert staff.get(f"/images/{image.pk}/file/full").status_code == 200
    action = ModerationAction.objects.get(kind="remove")
    assert action.reason == "Reported: Sexual content."
    assert (action.before, action.after) == ({"status": "unlocked"}, {"status": "removed"})


def test_remove_and_ban_bans_the_donor_for_good(reported, moderator):
    case, image, _ = reported

    case_remove(case_id=case.pk, moderator=moderator, reason="Explicit.", ban_donor=True)

    donor = Contributor.objects.get(pk=image.donor_id)
    assert donor.banned_until == BANNED_FOR_GOOD
    assert donor.bans.get().reason == "Explicit."
    assert ModerationAction.objects.filter(kind="ban", target_id=str(donor.pk)).exists()


def test_removed_files_are_deleted_after_the_retention_and_the_row_stays(
    reported, moderator, stored_files, settings
):
    settings.REMOVED_RETENTION_DAYS = 30
    case, image, _ = reported
    case_remove(case_id=case.pk, moderator=moderator)

    assert removed_files_delete(now=timezone.now() + timedelta(days=29)) == 0
    assert len(stored_files()) == 3
    assert removed_files_delete(now=timezone.now() + timedelta(days=31)) == 1

    assert stored_files() == []
    image.refresh_from_db()
    assert (image.status, image.file.name) == (ImageStatus.REMOVED, "")
    staff = Client()
    staff.force_login(moderator)
    assert staff.get(f"/images/{image.pk}/file/full").status_code == 404


def test_the_clean_up_command_deletes_due_files(reported, moderator, stored_files, settings):
    from django.core.management import call_command

    settings.REMOVED_RETENTION_DAYS = 0
    case, _, _ = reported
    case_remove(case_id=case.pk, moderator=moderator)

    call_command("removed_files_clean_up")

    assert stored_files() == []


def test_a_case_is_decided_once(reported, moderator):
    case, _, _ = reported
    case_dismiss(case_id=case.pk, moderator=moderator)

    with pytest.raises(DomainError) as refused:
        case_remove(case_id=case.pk, moderator=moderator)

    assert refused.value.status == 409
    assert "already decided (dismissed)" in refused.value.message
    assert Image.objects.get(pk=case.image_id).status == ImageStatus.UNLOCKED


def test_staff_without_the_permission_cannot_decide(reported):
    case, _image, _ = reported

    with pytest.raises(DomainError) as refused:
        case_remove(case_id=case.pk, moderator=ModeratorFactory())

    assert refused.value.code == "permission_denied"
    assert ReportCase.objects.get().state == CaseState.OPEN


def test_new_reports_after_a_decision_open_a_new_case(reported, moderator):
    case, image, _ = reported
    case_dismiss(case_id=case.pk, moderator=moderator)

    report_submit(reporter=ContributorFactory(), image_id=image.pk, reason="spam", network="x")

    assert ReportCase.objects.open().get().pk != case.pk


def test_unlocking_in_the_review_is_in_the_audit_trail(moderator):
    from donations.services import image_review

    image = ImageFactory()

    image_review(image_ids=[image.pk], decision="unlocked", reviewer=moderator)

    action = ModerationAction.objects.get()
    assert (action.kind, action.actor, action.target_id) == ("unlock", moderator, str(image.pk))
    assert (action.before, action.after) == ({"status": "pending"}, {"status": "unlocked"})
