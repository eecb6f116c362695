"""The profile page: API tokens made by POST/redirect/GET, and counts of everything contributed."""

import ast
import hashlib
import re
from pathlib import Path

import pytest

from annotations.models import AnnotationVote, RefinementAnswer, RefinementQuestion
from contributors.models import ApiToken
from labels_app.models import ImageLabel
from tests.factories import (
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
    RegisteredContributorFactory,
    UserFactory,
    VoterFactory,
    submitted_annotation,
)
from tests.served import serve_to_browser
from validations.models import Vote

from .browser import PASSWORD, donate, post_form

pytestmark = pytest.mark.django_db

PROFILE = "/accounts/profile/"
NEW_KEY = re.compile(r'<code class="token-key" id="new-token-key">([^<]+)</code>')
RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}
TASK_APPS = {"donations", "labels_app", "validations", "annotations"}


def counts_on(html: str) -> dict[str, str]:
    """The contribution counts the profile shows, by their key."""
    return dict(re.findall(r'<dd id="count-([a-z_]+)">(?:<a href="[^"]+">)?(\d+)', html))


def test_creating_a_token_redirects_and_the_new_key_is_shown_once(logged_in):
    response = post_form(logged_in, PROFILE, {"name": "bulk upload script"})

    assert response.status_code == 302
    assert response.url == PROFILE
    first_view = logged_in.get(PROFILE).content.decode()
    key = NEW_KEY.search(first_view).group(1)
    second_view = logged_in.get(PROFILE).content.decode()

    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert "copy it now, it will not be shown again" in first_view
    assert 'data-copy="new-token-key"' in first_view
    assert "js/copy_button.js" in first_view
    assert key not in second_view
    assert NEW_KEY.search(second_view) is None
    assert "js/copy_button.js" not in second_view
    assert "new_api_token" not in logged_in.session
    # Reloading the page after the POST is a GET: still one token.
    assert ApiToken.objects.count() == 1


def test_a_refused_token_name_is_shown_in_the_form_without_a_redirect(logged_in):
    response = post_form(logged_in, PROFILE, {"name": " "})

    assert response.status_code == 400
    assert "Give the token a name so you can recognise it later." in response.content.decode()
    assert not ApiToken.objects.exists()


def anonymous_work(visitor) -> dict[str, object]:
    """One of each contribution, made through the pages by a visitor without an account."""
    RefinementFactory(name="colour", values=["red", "blue"], applies_to=["*"])
    annotation = submitted_annotation(shapes=[RECT])
    question = RefinementQuestion.objects.get(annotation=annotation)
    image_label = ImageLabelFactory()
    LabelFactory(name="dog")
    unlabelled = ImageFactory(status="unlocked")

    assert donate(visitor, seed=5).status_code == 201
    post_form(visitor, "/label/", {"image": str(unlabelled.pk), "labels": "dog"})
    # As the task pages would have handed them out.
    serve_to_browser(visitor, image_label)
    serve_to_browser(visitor, annotation, kind="review")
    serve_to_browser(visitor, question, kind="quiz")
    post_form(visitor, "/validate/", {"image_label": image_label.pk, "answer": "yes"})
    post_form(
        visitor, "/annotate/review/", {"annotation": annotation.pk, "revision": 1, "answer": "good"}
    )
    post_form(visitor, "/annotate/quiz/", {"question": question.pk, "value": "red"})
    assert AnnotationVote.objects.count() == RefinementAnswer.objects.count() == 1
    return {"annotation": annotation, "question": question}


def test_profile_counts_reviews_and_quiz_answers_given_before_sign_up(visitor):
    anonymous_work(visitor)

    response = post_form(
        visitor,
        "/accounts/signup/",
        {"username": "newmonkey", "email": "", "password1": PASSWORD, "password2": PASSWORD},
    )
    html = visitor.get(PROFILE).content.decode()

    assert response.status_code == 302
    assert counts_on(html) == {
        "donations": "1",
        "labels_added": "1",
        "label_votes": "1",
        "outlines_drawn": "0",
        "annotation_reviews": "1",
        "quiz_answers": "1",
    }
    assert "<dt>Outlines reviewed</dt>" in html
    assert "<dt>Quick questions answered</dt>" in html


def test_profile_counts_include_the_work_merged_in_at_log_in(visitor):
    account = RegisteredContributorFactory()
    Vote.objects.create(image_label=ImageLabelFactory(), contributor=account, answer="no")
    anonymous_work(visitor)

    post_form(
        visitor, "/accounts/login/", {"username": account.user.username, "password": PASSWORD}
    )
    counts = counts_on(visitor.get(PROFILE).content.decode())

    assert counts["label_votes"] == "2"
    assert counts["annotation_reviews"] == "1"
    assert counts["quiz_answers"] == "1"
    assert counts["labels_added"] == "1"
    assert counts["donations"] == "1"
    assert ImageLabel.objects.filter(added_by=account).count() == 1


def test_profile_counts_outlines_drawn(client):
    drawer = VoterFactory(user=UserFactory())
    submitted_annotation(shapes=[RECT], author=drawer)
    client.force_login(drawer.user)

    assert counts_on(client.get(PROFILE).content.decode())["outlines_drawn"] == "1"


def test_the_profile_counts_without_importing_a_task_app():
    contributors = Path(__file__).resolve().parents[2] / "contributors"
    imported = set()
    for name in ("views.py", "contributions.py"):
        for node in ast.walk(ast.parse((contributors / name).read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)

    assert imported & TASK_APPS == set()
