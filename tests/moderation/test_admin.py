import pytest
from django.contrib.auth.models import Permission

from contributors.models import Contributor
from donations.models import Image, ImageStatus
from moderation.models import Ban, CaseState, ModerationAction, ReportCase, ReporterRecord
from moderation.services import ban_create, report_submit
from tests.factories import ContributorFactory, ImageFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/moderation/reportcase/"
BANS = "/admin/moderation/ban/"
TRAIL = "/admin/moderation/moderationaction/"


@pytest.fixture
def moderator_client(client):
    moderator = ModeratorFactory(
        moderation=[
            "view_reportcase",
            "decide_reportcase",
            "view_ban",
            "add_ban",
            "view_moderationaction",
        ]
    )
    moderator.user_permissions.add(*Permission.objects.filter(codename="view_contributor"))
    client.force_login(moderator)
    client.user = moderator
    return client


def reported_image(reasons=("sexual",), text=""):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    for number, reason in enumerate(reasons):
        report_submit(
            reporter=ContributorFactory(),
            image_id=image.pk,
            reason=reason,
            text=text,
            network=f"net{number}",
        )
    return image, ReportCase.objects.open().get(image=image)


def test_the_queue_lists_open_cases_highest_score_first_with_a_preview(moderator_client):
    low_image, _low = reported_image()
    high_image, _high = reported_image(reasons=("sexual", "violence"))
    decided_image, decided = reported_image()
    ReportCase.objects.filter(pk=decided.pk).update(state=CaseState.DISMISSED)

    html = moderator_client.get(QUEUE).content.decode()

    assert html.index(str(high_image.pk)) < html.index(str(low_image.pk))
    assert str(decided_image.pk) not in html
    assert high_image.file_url("small") in html
    assert str(decided_image.pk) in moderator_client.get(QUEUE + "?state=all").content.decode()


def test_the_case_page_shows_reasons_and_the_reporters_trust_and_accuracy(moderator_client):
    _image, case = reported_image(reasons=("personal_data",), text="my <b>neighbour</b>")
    ReporterRecord.objects.create(contributor=case.reports.get().reporter, decided=6, upheld=6)

    html = moderator_client.get(f"{QUEUE}{case.pk}/change/").content.decode()

    assert "A person&#x27;s face or personal data without consent" in html
    assert "my &lt;b&gt;neighbour&lt;/b&gt;" in html
    assert "Newcomer (in training)" in html
    assert "0.80 (6 decided)" in html  # (6 + 2) / (6 + 4)
    assert 'data-key="d"' in html and 'data-key="r"' in html and 'data-key="b"' in html


def test_one_key_decisions_go_to_the_next_case(moderator_client):
    first_image, first = reported_image(reasons=("spam", "spam", "spam"))
    _second_image, second = reported_image()

    response = moderator_client.post(
        f"{QUEUE}{first.pk}/decide/", {"decision": "remove", "reason": "Spam."}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}{second.pk}/change/"
    assert Image.objects.get(pk=first_image.pk).status == ImageStatus.REMOVED
    response = moderator_client.post(f"{QUEUE}{second.pk}/decide/", {"decision": "dismiss"})
    assert response["Location"] == QUEUE
    assert ReportCase.objects.get(pk=second.pk).state == CaseState.DISMISSED


def test_remove_and_ban_from_the_queue(moderator_client):
    image, case = reported_image()

    moderator_client.post(f"{QUEUE}{case.pk}/decide/", {"decision": "remove_ban"})

    assert Contributor.objects.get(pk=image.donor_id).is_banned_for_good


def test_an_unknown_or_repeated_decision_is_a_message_not_a_change(moderator_client):
    image, case = reported_image()

    response = moderator_client.post(f"{QUEUE}{case.pk}/decide/", {"decision": "burn"}, follow=True)
    assert "Unknown decision &#x27;burn&#x27;." in response.content.decode()
    moderator_client.post(f"{QUEUE}{case.pk}/decide/", {"decision": "dismiss"})
    response = moderator_client.post(
        f"{QUEUE}{case.pk}/decide/", {"decision": "remove"}, follow=True
    )
    assert "already decided" in response.content.decode()
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED


def test_staff_who_may_only_look_see_no_decision_buttons(client):
    viewer = ModeratorFactory(moderation=["view_reportcase"])
    client.force_login(viewer)
    image, case = reported_image()

    html = client.get(f"{QUEUE}{case.pk}/change/").content.decode()
    assert 'data-key="r"' not in html
    response = client.post(f"{QUEUE}{case.pk}/decide/", {"decision": "remove"}, follow=True)
    assert "You do not have permission to decide on reports." in response.content.decode()
    assert Image.objects.get(pk=image.pk).status == ImageStatus.UNLOCKED


def test_a_visitor_without_staff_rights_cannot_open_the_queue(client):
    client.force_login(UserFactory())
    assert client.get(QUEUE).status_code == 302  # to the admin log-in


def test_banning_from_the_admin_with_the_contributors_wider_network(moderator_client):
    contributor = ContributorFactory(last_network="203.0.113.77")

    form = moderator_client.get(f"{BANS}add/?contributor={contributor.pk}").content.decode()
    assert f'value="{contributor.pk}"' in form
    response = moderator_client.post(
        f"{BANS}add/",
        {
            "contributor": contributor.pk,
            "contributor_network": "wide",
            "network": "",
            "until_0": "",
            "until_1": "",
            "reason": "Vandalism",
        },
    )

    assert response.status_code == 302, response.content.decode()
    ban = Ban.objects.get()
    assert (ban.contributor, ban.network, ban.until, ban.created_by) == (
        contributor,
        "203.0.113.0/24",
        None,
        moderator_client.user,
    )
    assert Contributor.objects.get(pk=contributor.pk).is_banned_for_good
    assert ModerationAction.objects.get(kind="ban").actor == moderator_client.user


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": ""}, "This field is required."),
        ({"contributor": "", "network": ""}, "Name a contributor or a network to ban."),
        ({"network": "10.0.0.0/8", "contributor": ""}, "Ban an IPv4 /32 or /24"),
        ({"contributor_network": "address"}, "network is not known"),
        ({"until_0": "2001-01-01", "until_1": "10:00"}, "must be in the future"),
    ],
)
def test_ban_form_errors_name_the_problem_and_store_nothing(moderator_client, fields, message):
    contributor = ContributorFactory()
    data = {
        "contributor": contributor.pk,
        "contributor_network": "",
        "network": "",
        "until_0": "",
        "until_1": "",
        "reason": "x",
    } | fields

    response = moderator_client.post(f"{BANS}add/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Ban.objects.exists()


def test_bans_in_force_are_listed_searched_and_lifted(moderator_client):
    target = ContributorFactory()
    ban = ban_create(
        contributor=target, until=None, reason="troll", moderator=moderator_client.user
    )
    ban_create(
        contributor=None,
        network="198.51.100.0/24",
        until=None,
        reason="farm",
        moderator=moderator_client.user,
    )

    html = moderator_client.get(f"{BANS}?active=yes&q=troll").content.decode()
    assert "troll" in html and "farm" not in html
    response = moderator_client.post(
        BANS, {"action": "lift_selected", "_selected_action": [ban.pk]}, follow=True
    )

    assert "1 ban lifted." in response.content.decode()
    assert not Contributor.objects.get(pk=target.pk).is_banned
    assert "troll" in moderator_client.get(f"{BANS}?active=no").content.decode()


def test_the_audit_trail_is_read_only_and_filtered_per_target(moderator_client):
    image, case = reported_image()
    other_image, other = reported_image()
    moderator_client.post(f"{QUEUE}{case.pk}/decide/", {"decision": "dismiss"})
    moderator_client.post(f"{QUEUE}{other.pk}/decide/", {"decision": "dismiss"})

    html = moderator_client.get(
        f"{TRAIL}?target_type=donations.image&target_id={image.pk}"
    ).content.decode()

    assert str(image.pk) in html and str(other_image.pk) not in html
    action = ModerationAction.objects.filter(target_id=str(image.pk)).get()
    assert moderator_client.post(f"{TRAIL}{action.pk}/delete/").status_code == 403
    assert moderator_client.get(f"{TRAIL}add/").status_code == 403


def test_the_image_and_contributor_pages_link_to_their_history(moderator_client):
    moderator_client.user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_image", "view_contributor"])
    )
    image = ImageFactory()

    image_page = moderator_client.get(f"/admin/donations/image/{image.pk}/change/").content.decode()
    donor_page = moderator_client.get(
        f"/admin/contributors/contributor/{image.donor_id}/change/"
    ).content.decode()

    assert f"target_type=donations.image&amp;target_id={image.pk}" in image_page
    assert f"{BANS}add/?contributor={image.donor_id}" in donor_page


def test_annotation_question_and_suggestion_pages_link_to_their_history(client):
    from labels_app.models import LabelSuggestion
    from tests.factories import ImageLabelFactory, submitted_annotation

    client.force_login(ModeratorFactory(is_superuser=True))
    annotation = submitted_annotation(
        shapes=[{"type": "rect", "x": 0, "y": 0, "width": 1, "height": 1}]
    )
    question = ImageLabelFactory()
    suggestion = LabelSuggestion.objects.create(term="quokka", text="Quokka")

    for page, target in (
        (
            f"/admin/annotations/annotation/{annotation.pk}/change/",
            f"annotations.annotation&amp;target_id={annotation.pk}",
        ),
        (
            f"/admin/validations/validationquestion/{question.pk}/change/",
            f"labels_app.imagelabel&amp;target_id={question.pk}",
        ),
        (
            f"/admin/labels_app/labelsuggestion/{suggestion.pk}/change/",
            f"labels_app.labelsuggestion&amp;target_id={suggestion.pk}",
        ),
    ):
        assert f"target_type={target}" in client.get(page).content.decode(), page
