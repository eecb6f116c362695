import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from donations.models import Image, ImageStatus
from tests.factories import ImageFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/donations/image/"
REVIEW = "/admin/donations/image/review/"
DECIDE = "/admin/donations/image/review/decide/"


@pytest.fixture
def moderator_client(client):
    moderator = ModeratorFactory()
    client.force_login(moderator)
    client.user = moderator
    return client


def test_changelist_shows_thumbnails_and_review_link(moderator_client):
    image = ImageFactory()

    html = moderator_client.get(CHANGELIST).content.decode()

    assert image.file_url("small") in html
    assert REVIEW in html


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("status__exact=pending", {"pending"}),
        ("status__exact=unlocked", {"unlocked"}),
        ("near_duplicate=yes", {"copy"}),
        ("donor_kind=anonymous", {"pending", "unlocked", "copy"}),
    ],
)
def test_changelist_filters(moderator_client, query, shown):
    images = {
        "pending": ImageFactory(),
        "unlocked": ImageFactory(status=ImageStatus.UNLOCKED),
    }
    images["copy"] = ImageFactory(
        status=ImageStatus.REJECTED, near_duplicate_of=images["unlocked"], near_duplicate_distance=1
    )

    response = moderator_client.get(f"{CHANGELIST}?{query}")

    listed = {str(image.pk) for image in response.context["cl"].result_list}
    assert listed == {str(images[name].pk) for name in shown}


def test_bulk_unlock_action_unlocks_pending_images_and_logs_the_moderator(moderator_client):
    pending = [ImageFactory(), ImageFactory()]

    response = moderator_client.post(
        CHANGELIST,
        {"action": "unlock_selected", "_selected_action": [str(image.pk) for image in pending]},
        follow=True,
    )

    assert "2 images unlocked." in response.content.decode()
    for image in pending:
        image.refresh_from_db()
        assert image.status == ImageStatus.UNLOCKED
        assert image.reviewed_by == moderator_client.user
    assert LogEntry.objects.filter(user=moderator_client.user).count() == 2


@pytest.mark.parametrize(
    ("list_filter", "message"),
    [
        ("", "2 images unlocked (2 were not pending and stayed as they were)."),
        # On the pending list the action's queryset drops what the action has just unlocked
        # and what another moderator decided after the list was shown.
        ("?status__exact=pending", "2 images unlocked (1 was not pending and stayed as it was)."),
    ],
)
def test_bulk_unlock_of_a_mixed_choice_counts_what_was_not_pending(
    moderator_client, list_filter, message
):
    pending = [ImageFactory(), ImageFactory()]
    decided = [ImageFactory(status=ImageStatus.UNLOCKED)]
    if not list_filter:
        decided.append(ImageFactory(status=ImageStatus.REJECTED))

    response = moderator_client.post(
        f"{CHANGELIST}{list_filter}",
        {
            "action": "unlock_selected",
            "_selected_action": [str(image.pk) for image in pending + decided],
        },
        follow=True,
    )

    assert message in response.content.decode()
    assert Image.objects.filter(status=ImageStatus.UNLOCKED).count() == 3
    for image in decided:
        assert Image.objects.get(pk=image.pk).status == image.status


def test_bulk_reject_of_one_image_says_image_in_the_singular(moderator_client):
    image = ImageFactory()

    response = moderator_client.post(
        CHANGELIST,
        {"action": "reject_selected", "_selected_action": [str(image.pk)]},
        follow=True,
    )

    assert "1 image rejected." in response.content.decode()


def test_admin_pages_carry_the_sites_name(moderator_client):
    html = moderator_client.get("/admin/").content.decode()

    assert "ImageMonkey moderation" in html
    assert "<title>Moderate donations, labels and annotations | ImageMonkey admin</title>" in html
    assert "Django administration" not in html
    assert "Django site admin" not in html


def test_image_change_page_loads_the_style_that_sizes_its_preview(moderator_client):
    image = ImageFactory()

    html = moderator_client.get(f"{CHANGELIST}{image.pk}/change/").content.decode()

    assert "/static/css/admin_review.css" in html
    assert f'alt="Image {image.pk}, open full size" class="im-admin-large"' in html


def test_bulk_reject_action_rejects(moderator_client):
    image = ImageFactory()

    moderator_client.post(
        CHANGELIST, {"action": "reject_selected", "_selected_action": [str(image.pk)]}
    )

    image.refresh_from_db()
    assert image.status == ImageStatus.REJECTED


def test_staff_without_review_permission_get_no_review_actions_or_page(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_image"))
    client.force_login(staff)
    image = ImageFactory()

    changelist = client.get(CHANGELIST)
    review = client.get(REVIEW)
    decide = client.post(
        DECIDE,
        {"image_id": str(image.pk), "decision": "unlocked"},
        HTTP_ACCEPT="application/json",
    )

    assert changelist.status_code == 200
    assert "unlock_selected" not in changelist.content.decode()
    assert review.status_code == 403
    assert decide.status_code == 403
    image.refresh_from_db()
    assert image.status == ImageStatus.PENDING


def test_review_page_shows_a_near_duplicate_beside_its_original(moderator_client):
    original = ImageFactory(status=ImageStatus.UNLOCKED)
    copy = ImageFactory(near_duplicate_of=original, near_duplicate_distance=2)
    plain = ImageFactory()

    response = moderator_client.get(REVIEW)

    html = response.content.decode()
    assert response.context["images"] == [copy, plain]
    assert f'data-image-id="{copy.pk}"' in html
    assert original.file_url("large") in html
    assert "Likely original" in html
    assert "js/admin_review.js" in html


def test_review_decision_by_keyboard_endpoint_returns_json(moderator_client):
    image = ImageFactory()

    response = moderator_client.post(
        DECIDE,
        {"image_id": str(image.pk), "decision": "rejected"},
        HTTP_ACCEPT="application/json",
    )

    assert response.json() == {"id": str(image.pk), "status": "rejected"}
    image.refresh_from_db()
    assert (image.status, image.reviewed_by) == (ImageStatus.REJECTED, moderator_client.user)


def test_review_decision_on_an_already_decided_image_is_a_409(moderator_client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    response = moderator_client.post(
        DECIDE,
        {"image_id": str(image.pk), "decision": "rejected"},
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "This image is no longer pending."
    image.refresh_from_db()
    assert image.status == ImageStatus.UNLOCKED


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"image_id": "nonsense", "decision": "unlocked"}, "invalid_image_id"),
        ({"decision": "unlocked"}, "invalid_image_id"),
        (
            {"image_id": "00000000-0000-0000-0000-000000000000", "decision": "maybe"},
            "invalid_decision",
        ),
    ],
)
def test_review_decision_refuses_bad_input_with_json(moderator_client, payload, code):
    response = moderator_client.post(DECIDE, payload, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_review_form_without_javascript_redirects_back(moderator_client):
    image = ImageFactory()

    response = moderator_client.post(DECIDE, {"image_id": str(image.pk), "decision": "unlocked"})

    assert response.status_code == 302
    assert response["Location"] == REVIEW
    image.refresh_from_db()
    assert image.status == ImageStatus.UNLOCKED


def test_images_cannot_be_added_through_the_admin(moderator_client):
    moderator_client.user.is_superuser = True
    moderator_client.user.save(update_fields=["is_superuser"])

    assert moderator_client.get("/admin/donations/image/add/").status_code == 403
