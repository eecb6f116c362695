import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from contributors.identity import SESSION_KEY
from contributors.models import Contributor
from donations.models import Image
from tests import image_files
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    RegisteredContributorFactory,
    UserFactory,
)
from validations.models import Vote

from .browser import PASSWORD, csrf_token, donate, photo_upload, post_form

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_PASSWORD = "a brand new passphrase 42"


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("path", ["/", "/donate/", "/images/", "/images/mine/", "/api/images/"])
def test_page_view_by_anonymous_visitor_creates_no_contributor(visitor, path):
    response = visitor.get(path)

    assert response.status_code == 200
    assert not Contributor.objects.exists()
    assert SESSION_KEY not in visitor.session


def test_first_anonymous_donation_creates_one_contributor_remembered_in_session(visitor):
    first = donate(visitor, seed=1)

    assert first.status_code == 201, first.content
    contributor = Contributor.objects.get()
    assert contributor.is_anonymous
    assert visitor.session[SESSION_KEY] == contributor.pk
    assert Image.objects.get(pk=first.json()["id"]).donor == contributor

    second = donate(visitor, seed=2)

    assert second.status_code == 201, second.content
    assert Contributor.objects.get() == contributor
    assert Image.objects.filter(donor=contributor).count() == 2


@pytest.mark.parametrize(
    ("file", "cc0", "status", "code"),
    [
        (image_files.jpeg(160, 120, 1), "false", 400, "cc0_required"),
        (image_files.NOT_AN_IMAGE, "true", 415, "unsupported_format"),
    ],
    ids=["no-cc0", "not-an-image"],
)
def test_refused_anonymous_donation_creates_no_contributor(
    visitor, file, cc0, status, code, stored_files
):
    upload = SimpleUploadedFile("upload.jpg", file, content_type="image/jpeg")

    response = visitor.post(
        "/api/donations/",
        {"file": upload, "cc0": cc0},
        headers={"X-CSRFToken": csrf_token(visitor)},
    )

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Contributor.objects.exists()
    assert SESSION_KEY not in visitor.session
    assert not Image.objects.exists()
    assert stored_files() == []


def test_two_anonymous_visitors_get_separate_contributors():
    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)

    assert donate(alice, seed=1).status_code == 201
    assert donate(bob, seed=2).status_code == 201

    assert alice.session[SESSION_KEY] != bob.session[SESSION_KEY]
    assert Contributor.objects.filter(user__isnull=True).count() == 2


@pytest.mark.parametrize("client_class", [Client, APIClient])
@pytest.mark.parametrize(
    ("has_cookie", "header", "reason"),
    [
        (False, None, "CSRF cookie not set."),
        (True, None, "CSRF token missing."),
        (True, "x" * 32, "CSRF token from the 'X-Csrftoken' HTTP header incorrect."),
    ],
    ids=["no-cookie", "no-token", "wrong-token"],
)
def test_anonymous_donation_without_valid_csrf_token_is_refused(
    client_class, has_cookie, header, reason, stored_files
):
    client = client_class(enforce_csrf_checks=True)
    if has_cookie:
        csrf_token(client)
    headers = {"X-CSRFToken": header} if header else {}

    response = client.post(
        "/api/donations/", {"file": photo_upload(1), "cc0": "true"}, headers=headers
    )

    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied", "detail": f"CSRF Failed: {reason}"}
    assert not Image.objects.exists()
    assert not Contributor.objects.exists()
    assert stored_files() == []


def test_forged_post_cannot_donate_in_the_name_of_a_visitor_with_a_session(visitor, stored_files):
    assert donate(visitor, seed=1).status_code == 201
    files_before = stored_files()

    forged = visitor.post("/api/donations/", {"file": photo_upload(2), "cc0": "true"})

    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    assert Image.objects.count() == 1
    assert stored_files() == files_before


def test_sign_up_after_donating_anonymously_keeps_the_donation(visitor):
    image_id = donate(visitor, seed=1).json()["id"]
    anonymous = Contributor.objects.get()

    response = post_form(
        visitor,
        "/accounts/signup/",
        {
            "username": "newmonkey",
            "email": "newmonkey@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"
    user = User.objects.get(username="newmonkey")
    assert user.email == "newmonkey@example.org"
    assert is_logged_in(visitor)
    assert SESSION_KEY not in visitor.session
    assert Contributor.objects.get() == anonymous
    assert user.contributor == anonymous
    assert Image.objects.get(pk=image_id).donor == anonymous
    profile = visitor.get("/accounts/profile/")
    assert '<a href="/images/mine/">1</a>' in profile.content.decode()


def test_sign_up_without_earlier_donations_gives_the_account_a_contributor_on_first_donation(
    visitor,
):
    response = post_form(
        visitor,
        "/accounts/signup/",
        {"username": "fresh", "email": "", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302

    assert donate(visitor, seed=1).status_code == 201

    contributor = Contributor.objects.get()
    assert contributor.user.username == "fresh"
    assert Image.objects.get().donor == contributor


def test_log_in_after_donating_anonymously_merges_into_the_accounts_contributor(visitor):
    account = RegisteredContributorFactory(points=3)
    own_image = ImageFactory(donor=account)
    anonymous_image_id = donate(visitor, seed=1).json()["id"]
    anonymous = Contributor.objects.get(user__isnull=True)
    Contributor.objects.filter(pk=anonymous.pk).update(points=2)

    response = post_form(
        visitor, "/accounts/login/", {"username": account.user.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"
    assert is_logged_in(visitor)
    assert SESSION_KEY not in visitor.session
    assert set(Image.objects.filter(donor=account).values_list("pk", flat=True)) == {
        own_image.pk,
        Image.objects.get(pk=anonymous_image_id).pk,
    }
    anonymous.refresh_from_db()
    account.refresh_from_db()
    assert anonymous.merged_into == account
    assert anonymous.user is None
    assert anonymous.points == 0
    assert account.points == 5
    assert list(Contributor.objects.active()) == [account]
    profile = visitor.get("/accounts/profile/")
    assert '<a href="/images/mine/">2</a>' in profile.content.decode()


def test_log_in_after_donating_anonymously_into_an_account_without_contributor_adopts_it(
    visitor,
):
    user = UserFactory()
    donate(visitor, seed=1)
    anonymous = Contributor.objects.get()

    response = post_form(
        visitor, "/accounts/login/", {"username": user.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    anonymous.refresh_from_db()
    assert anonymous.user == user
    assert anonymous.merged_into is None
    assert Contributor.objects.count() == 1


def test_log_in_with_wrong_password_keeps_the_visitor_anonymous(visitor):
    account = RegisteredContributorFactory()
    donate(visitor, seed=1)
    anonymous = Contributor.objects.get(user__isnull=True)

    response = post_form(
        visitor, "/accounts/login/", {"username": account.user.username, "password": "wrong"}
    )

    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()
    assert not is_logged_in(visitor)
    assert visitor.session[SESSION_KEY] == anonymous.pk
    anonymous.refresh_from_db()
    assert anonymous.merged_into is None
    assert anonymous.user is None
    assert Image.objects.get().donor == anonymous


def test_log_out_is_refused_for_get(logged_in):
    response = logged_in.get("/accounts/logout/")

    assert response.status_code == 405
    assert is_logged_in(logged_in)


def test_log_out_by_post_ends_the_session_and_later_donations_are_anonymous(logged_in):
    response = post_form(logged_in, "/accounts/logout/", {})

    assert response.status_code == 302
    assert response.url == "/"
    assert not is_logged_in(logged_in)
    assert logged_in.get("/accounts/profile/").status_code == 302

    assert donate(logged_in, seed=1).status_code == 201
    image = Image.objects.get()
    assert image.donor != logged_in.contributor
    assert image.donor.is_anonymous


def test_password_change_sets_the_new_password_and_keeps_the_session(logged_in):
    user = logged_in.contributor.user

    response = post_form(
        logged_in,
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response.url == "/accounts/password/change/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert logged_in.get("/accounts/profile/").status_code == 200


def test_password_change_with_wrong_old_password_changes_nothing(logged_in):
    user = logged_in.contributor.user

    response = post_form(
        logged_in,
        "/accounts/password/change/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_emails_a_link_that_sets_a_new_password(visitor):
    user = UserFactory(email="forgetful@example.org")

    response = post_form(visitor, "/accounts/password/reset/", {"email": user.email})

    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    link = re.search(r"http://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert link, message.body

    set_password_page = visitor.get(link.group(1))
    assert set_password_page.status_code == 302
    done = post_form(
        visitor,
        set_password_page.url,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert done.status_code == 302
    assert done.url == "/accounts/password/reset/complete/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_for_unknown_email_sends_nothing_but_looks_the_same(visitor):
    response = post_form(visitor, "/accounts/password/reset/", {"email": "nobody@example.org"})

    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/done/"
    assert mail.outbox == []


def test_used_password_reset_link_is_refused(visitor):
    user = UserFactory(email="forgetful@example.org")
    post_form(visitor, "/accounts/password/reset/", {"email": user.email})
    path = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    set_password_url = visitor.get(path).url
    post_form(
        visitor, set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    again = Client().get(path, follow=True)

    assert again.status_code == 200
    assert "This reset link is invalid or was already used." in again.content.decode()


@pytest.mark.parametrize(
    ("username", "password2", "message"),
    [
        ("newmonkey", "something else entirely", "The two password fields didn’t match."),
        ("taken", PASSWORD, "A user with that username already exists."),
        ("TAKEN", PASSWORD, "A user with that username already exists."),
    ],
    ids=["mismatched-passwords", "existing-username", "existing-username-other-case"],
)
def test_sign_up_with_bad_input_shows_the_error_and_creates_no_user(
    visitor, username, password2, message
):
    UserFactory(username="taken")
    donate(visitor, seed=1)
    anonymous = Contributor.objects.get()

    response = post_form(
        visitor,
        "/accounts/signup/",
        {"username": username, "email": "", "password1": PASSWORD, "password2": password2},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["taken"]
    assert not is_logged_in(visitor)
    anonymous.refresh_from_db()
    assert anonymous.user is None
    assert visitor.session[SESSION_KEY] == anonymous.pk


def test_sign_up_page_sends_a_logged_in_user_to_the_profile(logged_in):
    response = logged_in.get("/accounts/signup/")

    assert response.status_code == 302
    assert response.url == "/accounts/profile/"


def test_a_log_in_merge_carries_the_trust_record_and_recounts(
    visitor, django_capture_on_commit_callbacks, settings
):
    """Votes given while anonymous move to the account; so must the known answers they were
    judged by, or counted votes would sit under an account still in training (or the reverse)."""
    from tests.served import vote_cast

    settings.TRAINING_MIN_GOLD = 3
    account = RegisteredContributorFactory()  # never answered a known question: in training
    anonymous = ContributorFactory(
        gold_answered=4,
        gold_correct=4,
        votes_counted=True,
        trust_level=1,
        training_passed_at=timezone.now(),
    )
    item = ImageLabelFactory()
    vote_cast(contributor=anonymous, image_label_id=item.pk, answer="yes")
    session = visitor.session
    session[SESSION_KEY] = anonymous.pk
    session.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(
            visitor, "/accounts/login/", {"username": account.user.username, "password": PASSWORD}
        )

    assert response.status_code == 302
    account.refresh_from_db()
    anonymous.refresh_from_db()
    assert (account.gold_answered, account.gold_correct) == (4, 4)
    assert account.votes_counted and not account.in_training
    assert (anonymous.gold_answered, anonymous.votes_counted) == (0, False)
    vote = Vote.objects.get()
    assert vote.contributor == account
    assert vote.counted
