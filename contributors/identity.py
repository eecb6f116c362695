"""Who is making this request: the bridge between HTTP sessions/tokens and Contributor rows."""

from django.contrib.auth import login
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from core.errors import DomainError

from .models import Contributor
from .services import contributor_claim_for_user, contributor_of_user

SESSION_KEY = "contributor_id"


def contributor_of_request(request: HttpRequest) -> Contributor | None:
    """The contributor already behind this request, without creating one."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return contributor_of_user(user)
    contributor_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if contributor_id is None:
        return None
    return Contributor.objects.filter(pk=contributor_id, user__isnull=True).first()


def refuse_if_banned(contributor: Contributor | None) -> None:
    if contributor is not None and contributor.is_banned:
        raise DomainError(
            f"This account is suspended until {contributor.banned_until:%Y-%m-%d %H:%M} UTC.",
            code="banned",
            status=403,
        )


def contributor_for_write(request: HttpRequest) -> Contributor:
    """The contributor a write is recorded under, created at the first contribution.

    Page views never create one, so crawlers and passers-by leave no rows behind.
    """
    contributor = getattr(request, "contributor", None)
    if contributor is None:
        user = request.user
        if user.is_authenticated:
            contributor = contributor_claim_for_user(anonymous=None, user=user)
        else:
            contributor = Contributor.objects.create()
            request.session[SESSION_KEY] = contributor.pk
        request.contributor = contributor
    refuse_if_banned(contributor)
    return contributor


def log_in(request: HttpRequest, user: AbstractBaseUser) -> Contributor:
    """Log the user in and carry over whatever they contributed anonymously in this session."""
    anonymous = contributor_of_request(request) if not request.user.is_authenticated else None
    login(request, user)
    request.session.pop(SESSION_KEY, None)
    contributor = contributor_claim_for_user(anonymous=anonymous, user=user)
    request.contributor = contributor
    return contributor
