"""Who is making this request: the bridge between HTTP sessions/tokens and Contributor rows."""

from django.contrib.auth import login
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from core.errors import DomainError
from core.events import announce
from core.ratelimits import network_of, rate_limit

from .models import Contributor
from .services import (
    contributor_claim_for_user,
    contributor_for_first_write,
    contributor_network_note,
    contributor_of_user,
)

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
        until = (
            "for good"
            if contributor.is_banned_for_good
            else f"until {contributor.banned_until:%Y-%m-%d %H:%M} UTC"
        )
        raise DomainError(
            f"This account is suspended {until}; you can still look around, but not contribute.",
            code="banned",
            status=403,
            banned_until=None if contributor.is_banned_for_good else contributor.banned_until,
        )


def refuse_write(request: HttpRequest, contributor: Contributor | None) -> None:
    """Refuse a write from a banned contributor, or one an app above refuses (moderation's
    network bans listen to "contributor.writing" and raise DomainError)."""
    refuse_if_banned(contributor)
    announce("contributor.writing", request=request, contributor=contributor)


def _remember_in_session(request: HttpRequest, contributor: Contributor) -> None:
    request.session[SESSION_KEY] = contributor.pk


def contributor_for_write(
    request: HttpRequest, *, browser: str | None = None, remember=_remember_in_session
) -> Contributor:
    """The contributor a write is recorded under, created at the first contribution.

    Page views never create one, so crawlers and passers-by leave no rows behind. A new
    anonymous contributor is shared by the requests with the same `browser` key (by default
    the browser's CSRF cookie and network) and remembered by `remember` (by default in the
    session; a cookie-less API client is remembered by its key instead).
    """
    contributor = getattr(request, "contributor", None)
    if contributor is None:
        user = request.user
        if user.is_authenticated:
            contributor = contributor_claim_for_user(anonymous=None, user=user)
        else:
            # Identities cost a client nothing but a dropped cookie; their creation is counted
            # per network whatever the endpoint, so no write path can mint them without bound.
            refuse_write(request, None)  # a banned network mints no new identities
            rate_limit(request, "new_identity")
            contributor = contributor_for_first_write(browser=browser or browser_key(request))
            remember(request, contributor)
            announce("contributor.created", request=request, contributor=contributor)
        request.contributor = contributor
    refuse_write(request, contributor)
    contributor_network_note(contributor=contributor, network=network_of(request))
    return contributor


def browser_key(request: HttpRequest) -> str | None:
    """A key every request of one browser shares before it has a session: a digest of its CSRF
    cookie (each write carries that cookie; the digest keeps the secret out of storage) and its
    network, so a cookie planted in someone else's browser does not join them to its planter
    unless they also share a network."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return None
    return salted_hmac("contributors.first-write", f"{secret}|{network_of(request)}").hexdigest()


def log_in(request: HttpRequest, user: AbstractBaseUser) -> Contributor:
    """Log the user in and carry over whatever they contributed anonymously in this session."""
    anonymous = contributor_of_request(request) if not request.user.is_authenticated else None
    login(request, user)
    request.session.pop(SESSION_KEY, None)
    contributor = contributor_claim_for_user(anonymous=anonymous, user=user)
    request.contributor = contributor
    return contributor
