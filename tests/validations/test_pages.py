import re

import pytest
from django.contrib.auth.models import Permission

from labels_app.models import ImageLabel, LabelSuggestion
from tests.factories import (
    ContributorFactory,
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    ModeratorFactory,
    VoterFactory,
)
from tests.served import serve_to_browser
from validations.models import ValidationSkip, Vote

pytestmark = pytest.mark.django_db


def as_contributor(client, contributor):
    session = client.session
    session["contributor_id"] = contributor.pk
    session.save()


@pytest.fixture
def voter(client, settings):
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 0
    voter = VoterFactory()
    as_contributor(client, voter)
    return voter


def test_validate_page_asks_about_the_next_item(client, voter):
    image_label = ImageLabelFactory(label=LabelFactory(name="dog"))

    html = client.get("/validate/").content.decode()

    assert "Does this image show a dog?" in html
    assert f'value="{image_label.pk}"' in html
    assert "js/validate.js" in html


def test_validate_form_works_without_javascript(client, voter):
    image_label = ImageLabelFactory()
    assert f'value="{image_label.pk}"' in client.get("/validate/").content.decode()

    response = client.post("/validate/", {"image_label": image_label.pk, "answer": "no"})

    assert response.status_code == 302
    assert Vote.objects.get(contributor=voter).answer == "no"
    assert "Nothing to validate right now" in client.get("/validate/").content.decode()


def test_validate_form_skip(client, voter):
    image_label = ImageLabelFactory()

    client.post("/validate/", {"image_label": image_label.pk, "skip": "1"})

    assert ValidationSkip.objects.filter(contributor=voter, image_label=image_label).exists()


def test_training_feedback_shows_on_the_page(client, settings):
    settings.GOLD_RATE_TRAINING = 1.0
    gold = GoldImageLabelFactory(gold_answer="no")

    client.get("/validate/")
    client.post("/validate/", {"image_label": gold.pk, "answer": "yes"})
    html = client.get("/validate/").content.decode()

    assert "Not quite — the right answer was “no”." in html
    assert "You are in training" in html


def test_training_feedback_without_javascript_shows_the_photo_it_is_about(client, settings):
    settings.GOLD_RATE_TRAINING = 1.0
    gold = GoldImageLabelFactory(label=LabelFactory(name="cat"), gold_answer="no")
    following = GoldImageLabelFactory(label=LabelFactory(name="dog"), gold_answer="yes")

    client.get("/validate/")
    serve_to_browser(client, gold)  # whichever of the two the page asked first
    client.post("/validate/", {"image_label": gold.pk, "answer": "yes"})
    html = client.get("/validate/").content.decode()
    again = client.get("/validate/").content.decode()

    feedback = html[html.index('id="training-feedback"') : html.index('id="question"')]
    assert f'src="/images/{gold.image_id}/file/small" alt="The photo you just answered"' in feedback
    assert "About the photo you just answered (shown here): “Does this image show a cat?”" in (
        feedback
    )
    assert "Not quite — the right answer was “no”." in feedback
    # The page itself already asks about the next photo.
    assert f'value="{following.pk}"' in html
    assert "Does this image show a dog?" in html
    assert 'id="training-feedback"' not in again


def test_a_refused_vote_is_a_message_not_an_error_page(client, voter):
    image_label = ImageLabelFactory()
    client.get("/validate/")
    client.post("/validate/", {"image_label": image_label.pk, "answer": "yes"})

    response = client.post(
        "/validate/", {"image_label": image_label.pk, "answer": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert "You already answered this one; your first answer stands." in response.content.decode()
    assert Vote.objects.count() == 1


def test_grid_page_and_submission(client, voter):
    dog = LabelFactory(name="dog")
    items = [ImageLabelFactory(label=dog) for _ in range(4)]

    html = client.get("/validate/grid/", {"label": "dog"}).content.decode()
    response = client.post(
        "/validate/grid/?label=dog",
        {"label": "dog", "image_label": [i.pk for i in items], "not_shown": [items[1].pk]},
        follow=True,
    )

    assert html.count('name="not_shown"') == 4
    assert "Thank you! 4 answers saved." in response.content.decode()
    answers = dict(Vote.objects.values_list("image_label_id", "answer"))
    assert answers == {
        items[0].pk: "yes",
        items[1].pk: "no",
        items[2].pk: "yes",
        items[3].pk: "yes",
    }


def test_grid_says_when_it_shows_another_label_than_the_unknown_one_asked_for(client, voter):
    ImageLabelFactory(label=LabelFactory(name="dog"))

    html = client.get("/validate/grid/", {"label": "<b>dgo</b>"}).content.decode()

    assert "There is no label “&lt;b&gt;dgo&lt;/b&gt;”, so this grid shows “dog” instead." in html
    assert "<b>dgo</b>" not in html


def test_grid_with_an_unknown_label_and_nothing_open_says_so(client, voter):
    html = client.get("/validate/grid/", {"label": "dgo"}).content.decode()

    assert "There is no label “dgo”." in html
    assert "Nothing to validate right now." in html


def test_grid_of_a_known_label_names_no_unknown_one(client, voter):
    ImageLabelFactory(label=LabelFactory(name="dog"))

    html = client.get("/validate/grid/", {"label": "Dog"}).content.decode()

    assert 'id="unknown-label"' not in html
    assert "Submit 1 answer</button>" in html


def test_grid_counts_a_single_answer_in_the_singular(client, voter):
    item = ImageLabelFactory(label=LabelFactory(name="dog"))
    client.get("/validate/grid/", {"label": "dog"})

    response = client.post(
        "/validate/grid/?label=dog", {"label": "dog", "image_label": [item.pk]}, follow=True
    )

    assert "Thank you! 1 answer saved." in response.content.decode()
    assert Vote.objects.get().answer == "yes"


def test_label_page_adds_labels_and_suggestions_without_javascript(client):
    LabelFactory(name="dog")
    image = ImageFactory(status="unlocked")

    response = client.post(
        "/label/", {"image": str(image.pk), "labels": "dog, <script>alert(1)</script>"}, follow=True
    )

    html = response.content.decode()
    assert "Added: dog." in html
    assert "noted as suggestions: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert ImageLabel.objects.get().label.name == "dog"
    assert LabelSuggestion.objects.get().text == "<script>alert(1)</script>"


def test_label_page_refuses_an_overlong_label_with_a_message(client):
    image = ImageFactory(status="unlocked")

    response = client.post("/label/", {"image": str(image.pk), "labels": "y" * 500}, follow=True)

    assert "A label is at most 64 characters" in response.content.decode()
    assert LabelSuggestion.objects.count() == 0


def test_donor_can_label_their_pending_image_from_the_page(client):
    donor = ContributorFactory()
    image = ImageFactory(donor=donor)
    LabelFactory(name="dog")
    as_contributor(client, donor)

    page = client.get("/label/", {"image": str(image.pk)})
    client.post("/label/", {"image": str(image.pk), "labels": "dog"})

    assert page.status_code == 200
    assert ImageLabel.objects.get().image == image


def test_someone_elses_pending_image_cannot_be_opened_for_labelling(client):
    image = ImageFactory()

    assert client.get("/label/", {"image": str(image.pk)}).status_code == 404
    assert client.get("/label/", {"image": "not-a-uuid"}).status_code == 404


def test_profile_shows_the_voters_trust(client):
    voter = VoterFactory(user=ModeratorFactory(username="val"), gold_answered=12, gold_correct=11)
    client.force_login(voter.user)

    html = client.get("/accounts/profile/").content.decode()

    assert "Contributor" in html
    # Hidden checks are silent: a record that moved after each answer would point them out.
    assert "right of" not in html
    assert "count toward consensus" in html


def test_moderators_mark_gold_and_accept_suggestions_in_the_admin(client):
    moderator = ModeratorFactory()
    moderator.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "change_validationquestion",
                "change_labelsuggestion",
                "view_validationquestion",
                "view_labelsuggestion",
            ]
        )
    )
    client.force_login(moderator)
    items = [ImageLabelFactory() for _ in range(2)]
    image = ImageFactory(status="unlocked")
    client.post("/label/", {"image": str(image.pk), "labels": "garden gnome"})

    client.post(
        "/admin/validations/validationquestion/",
        {"action": "mark_hidden_no", "_selected_action": [i.pk for i in items]},
    )
    client.post(
        "/admin/labels_app/labelsuggestion/",
        {"action": "accept_selected", "_selected_action": [LabelSuggestion.objects.get().pk]},
    )

    assert set(
        ImageLabel.objects.filter(pk__in=[i.pk for i in items]).values_list(
            "gold_answer", flat=True
        )
    ) == {"no"}
    assert ImageLabel.objects.get(image=image).label.name == "garden gnome"


def test_grid_filtered_by_an_image_query_shows_only_matching_images_gold_included(
    client, voter, settings
):
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    plain = [ImageLabelFactory(label=dog) for _ in range(3)]
    with_cat = [ImageLabelFactory(label=dog) for _ in range(3)]
    for item in with_cat:
        ImageLabelFactory(image=item.image, label=cat)
    settings.GOLD_RATE_AFTER_TRAINING = settings.GOLD_RATE_FLOOR = 1.0
    gold_plain = GoldImageLabelFactory(label=dog, gold_pool="hidden")
    gold_cat = GoldImageLabelFactory(label=dog, gold_pool="hidden")
    ImageLabelFactory(image=gold_cat.image, label=cat)

    html = client.get("/validate/grid/", {"label": "dog", "q": "~cat"}).content.decode()

    shown = {int(pk) for pk in re.findall(r'name="not_shown" value="(\d+)"', html)}
    assert shown and shown <= {item.pk for item in plain} | {gold_plain.pk}
    assert gold_plain.pk in shown and gold_cat.pk not in shown
    assert 'value="~cat"' in html
    assert "q=~cat" in html.replace("%7E", "~")  # the submit form keeps the filter


def test_a_bad_grid_filter_is_named_and_hands_out_nothing(client, voter):
    ImageLabelFactory(label=LabelFactory(name="dog"))

    html = client.get("/validate/grid/", {"label": "dog", "q": "dog &"}).content.decode()

    assert "The query ends too early" in html
    assert 'name="not_shown"' not in html


def test_grid_submission_comes_back_to_the_same_filter(client, voter):
    dog = LabelFactory(name="dog")
    item = ImageLabelFactory(label=dog)
    client.get("/validate/grid/", {"label": "dog", "q": "dog"})

    response = client.post(
        "/validate/grid/?label=dog&q=dog", {"label": "dog", "image_label": [item.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == "/validate/grid/?label=dog&q=dog"
