"""Tests that judge a task directly first hand it to the judge, as the next-task endpoints do.

Judgements are taken only on tasks handed to the judge (trust.served); tests about what a
judgement does, not about which task comes next, use these wrappers around the real services.
Tests of the served rule itself call the services in validations and annotations directly.
"""

from django.test import RequestFactory

from annotations import services as annotation_services
from trust.served import audience_of, tasks_serve
from validations import services as validation_services


def serve(contributor, *tasks, kind: str = "label") -> None:
    """Hand these tasks (image-labels, annotations, quiz questions) to the contributor."""
    tasks_serve(contributor=contributor, audience=(), kind=kind, ids=[task.pk for task in tasks])


def serve_to_browser(client, *tasks, kind: str = "label", address: str = "127.0.0.1") -> None:
    """Hand tasks to a test client's browser as the site would on a page view: to its
    contributor when its session has one, else to its CSRF cookie and network."""
    from contributors.identity import contributor_of_request

    request = RequestFactory().get("/", REMOTE_ADDR=address)
    request.COOKIES = {name: morsel.value for name, morsel in client.cookies.items()}
    request.META["CSRF_COOKIE"] = request.COOKIES.get("csrftoken", "")
    request.session = client.session
    request.user = _user_of(client)
    request.contributor = contributor_of_request(request)
    tasks_serve(
        contributor=request.contributor,
        audience=audience_of(request),
        kind=kind,
        ids=[task.pk for task in tasks],
    )


def _user_of(client):
    from django.contrib.auth import get_user
    from django.contrib.auth.models import AnonymousUser

    class _SessionOnly:
        session = client.session

    user = get_user(_SessionOnly())
    return user if user.is_authenticated else AnonymousUser()


def _image_label_ids(answers) -> list[int]:
    return [answer["image_label"] for answer in answers if isinstance(answer, dict)]


def vote_cast(**kwargs):
    tasks_serve(
        contributor=kwargs["contributor"],
        audience=(),
        kind="label",
        ids=[kwargs["image_label_id"]],
    )
    return validation_services.vote_cast(**kwargs)


def votes_cast_batch(**kwargs):
    tasks_serve(
        contributor=kwargs["contributor"],
        audience=(),
        kind="label",
        ids=_image_label_ids(kwargs["answers"]),
    )
    return validation_services.votes_cast_batch(**kwargs)


def annotation_vote_cast(**kwargs):
    tasks_serve(
        contributor=kwargs["contributor"],
        audience=(),
        kind="review",
        ids=[kwargs["annotation_id"]],
    )
    return annotation_services.annotation_vote_cast(**kwargs)


def refinement_answer(**kwargs):
    tasks_serve(
        contributor=kwargs["contributor"], audience=(), kind="quiz", ids=[kwargs["question_id"]]
    )
    return annotation_services.refinement_answer(**kwargs)
