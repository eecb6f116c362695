import pytest
from rest_framework.test import APIClient

from donations.models import ImageStatus
from moderation import alerts
from moderation.models import Alert, AlertState
from moderation.services import alert_raise, report_submit
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
)
from trust.services import contributor_demote
from validations.services import consensus_apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what the code defers to the commit (alerts are raised after it)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


@pytest.fixture
def clock(monkeypatch):
    """A settable time.time for the detectors' minute buckets and windows."""
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(alerts.time, "time", lambda: now["t"])
    return now


def test_an_image_label_whose_consensus_keeps_flipping_raises_one_alert(commit, settings):
    settings.ALERT_FLIPS = 4
    image_label = ImageLabelFactory()
    for delta in (1.0, -2.0, 2.0, -2.0):  # the first step leaves one half: not a flip
        commit(
            consensus_apply, image_label_id=image_label.pk, image_public=True, evidence_delta=delta
        )
    assert not Alert.objects.exists()

    commit(consensus_apply, image_label_id=image_label.pk, image_public=True, evidence_delta=2.0)
    commit(consensus_apply, image_label_id=image_label.pk, image_public=True, evidence_delta=-2.0)

    alert = Alert.objects.get()
    assert (alert.kind, alert.target_type, alert.target_id) == (
        "consensus_flips",
        "labels_app.imagelabel",
        str(image_label.pk),
    )
    assert alert.count == 2  # raised again while open: counted, not a second row


def test_moves_that_stay_on_one_side_are_no_flips(commit, settings):
    settings.ALERT_FLIPS = 2
    image_label = ImageLabelFactory()
    for delta in (1.0, 0.5, -0.5, 1.0, -1.0):
        commit(
            consensus_apply, image_label_id=image_label.pk, image_public=True, evidence_delta=delta
        )

    assert not Alert.objects.exists()


def test_an_answer_burst_from_a_new_identity_is_measured_against_the_crowd(commit, clock, settings):
    settings.ALERT_BURST_MIN, settings.ALERT_BURST_Z = 20, 4.0
    contributor = ContributorFactory()

    for _ in range(19):
        commit(alerts.judgements_given, contributor_id=contributor.pk, count=1)
    assert not Alert.objects.exists()
    commit(alerts.judgements_given, contributor_id=contributor.pk, count=1)

    alert = Alert.objects.get()
    assert alert.kind == "answer_burst"
    assert list(alert.contributors.all()) == [contributor]
    assert alert.details["answers_this_minute"] == 20


def test_a_contributor_who_always_answers_fast_is_no_burst(commit, clock, settings):
    settings.ALERT_BURST_MIN, settings.ALERT_BURST_Z = 20, 4.0
    contributor = ContributorFactory()
    for _minute in range(30):  # half an hour at 25 a minute (the first minutes were a burst)
        commit(alerts.judgements_given, contributor_id=contributor.pk, count=25)
        clock["t"] += 60
    Alert.objects.all().delete()

    commit(alerts.judgements_given, contributor_id=contributor.pk, count=28)

    assert not Alert.objects.exists()


def test_burst_score_pools_own_minutes_with_the_crowds(settings):
    settings.ALERT_BURST_PRIOR_MINUTES = 10
    crowd = (100, 600, 100 * (36 + 4))  # mean 6, variance 4

    quiet_newcomer = alerts.burst_score(current=20, own=[], crowd=crowd)
    busy_regular = alerts.burst_score(current=20, own=[18, 22, 20, 19] * 10, crowd=crowd)

    assert quiet_newcomer == pytest.approx((20 - 6) / 2)
    assert busy_regular < 1


def test_votes_feed_the_burst_detector(commit, settings):
    settings.ALERT_BURST_MIN, settings.ALERT_BURST_Z = 1, -100.0  # every vote trips it
    voter = RegisteredContributorFactory(votes_counted=True)
    ImageLabelFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(voter.user)}")
    task = client.get("/api/validations/next/").json()

    commit(
        client.post,
        "/api/votes/",
        {"image_label": task["image_label"], "answer": "yes"},
        format="json",
    )

    alert = Alert.objects.get()
    assert (alert.kind, list(alert.contributors.all())) == ("answer_burst", [voter])


def test_a_demotion_for_disagreement_raises_an_alert_with_the_records(commit):
    ContributorFactory(agreement_judged=100, agreement_agreed=90)
    voter = ContributorFactory(votes_counted=True, agreement_judged=40, agreement_agreed=16)

    commit(contributor_demote, contributor_id=voter.pk, reason="their answers turned")

    alert = Alert.objects.get()
    assert alert.kind == "disagreement"
    assert alert.details["judged"] == 40 and alert.details["agreed"] == 16
    assert alert.details["z"] > 3
    assert "They agree with 40% of decisions" in alert.summary


def test_an_image_collecting_reports_fast_raises_an_alert(commit, settings):
    settings.ALERT_REPORTS = 3
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    reporters = [ContributorFactory() for _ in range(3)]

    for number, reporter in enumerate(reporters):
        commit(
            report_submit, reporter=reporter, image_id=image.pk, reason="spam", network=f"n{number}"
        )

    alert = Alert.objects.get()
    assert (alert.kind, alert.target_id) == ("report_burst", str(image.pk))
    assert set(alert.contributors.all()) == set(reporters)


def test_many_new_anonymous_identities_from_one_network_raise_an_alert(commit, settings):
    settings.ALERT_NEW_IDENTITIES = 3
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    for host in (5, 6, 7):
        client = APIClient(REMOTE_ADDR=f"203.0.113.{host}")
        commit(
            client.post, "/api/reports/", {"image": str(image.pk), "reason": "spam"}, format="json"
        )

    alert = Alert.objects.get(kind="new_identities")
    assert (alert.target_type, alert.target_id) == ("network", "203.0.113.0/24")


def test_an_acknowledged_alert_stays_closed_and_new_trouble_opens_another():
    first = alert_raise(
        kind="report_burst", target_type="donations.image", target_id="x", summary="s"
    )
    Alert.objects.filter(pk=first.pk).update(state=AlertState.ACKNOWLEDGED)

    second = alert_raise(
        kind="report_burst", target_type="donations.image", target_id="x", summary="s"
    )

    assert second.pk != first.pk
    assert Alert.objects.filter(state=AlertState.OPEN).count() == 1


def test_alerts_in_the_admin_link_to_the_contributors_and_can_be_acknowledged(client):
    moderator = ModeratorFactory(moderation=["view_alert"])
    client.force_login(moderator)
    suspect = ContributorFactory()
    alert = alert_raise(
        kind="new_identities",
        target_type="network",
        target_id="203.0.113.0/24",
        summary="30 new anonymous contributors from 203.0.113.0/24",
        contributor_ids=[suspect.pk],
    )

    page = client.get(f"/admin/moderation/alert/{alert.pk}/change/").content.decode()
    assert "/admin/moderation/ban/add/?network=203.0.113.0/24" in page
    assert f"/admin/moderation/ban/add/?contributor={suspect.pk}" in page
    response = client.post(
        "/admin/moderation/alert/",
        {"action": "acknowledge_selected", "_selected_action": [alert.pk]},
        follow=True,
    )

    assert "1 alert acknowledged." in response.content.decode()
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by) == (AlertState.ACKNOWLEDGED, moderator)
