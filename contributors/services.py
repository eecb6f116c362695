from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.events import announce

from .models import ApiToken, Contributor


def contributor_of_user(user: AbstractBaseUser) -> Contributor | None:
    return Contributor.objects.filter(user=user).first()


@transaction.atomic
def contributor_merge(*, source: Contributor, target: Contributor) -> Contributor:
    """Fold an anonymous identity's work into the target (a log-in after contributing).

    Every model pointing at Contributor is re-pointed, so apps added later are covered without
    touching this function; the source row stays, marked as merged, for the audit trail.
    """
    if source.pk == target.pk:
        return target
    for relation in Contributor._meta.related_objects:
        if not relation.one_to_many or relation.related_model is Contributor:
            continue
        _repoint(relation.related_model, relation.field.name, source=source, target=target)
    Contributor.objects.filter(pk=target.pk).update(points=F("points") + source.points)
    if source.banned_until and (
        not target.banned_until or source.banned_until > target.banned_until
    ):
        # A ban follows the person: logging in must not be a way around it.
        Contributor.objects.filter(pk=target.pk).update(banned_until=source.banned_until)
    source.merged_into = target
    source.points = 0
    source.save(update_fields=["merged_into", "points"])
    # The trust record (known answers, training) lives with trust, which listens for this.
    announce("contributor.merged", source=source, target=target)
    target.refresh_from_db()
    return target


def _repoint(model, field_name: str, *, source: Contributor, target: Contributor) -> None:
    """Move rows from source to target; rows that would break a uniqueness rule (the same
    person answered the same question under both identities) stay with the source."""
    rows = model._base_manager.filter(**{field_name: source})
    try:
        with transaction.atomic():
            rows.update(**{field_name: target})
    except IntegrityError:
        for pk in rows.values_list("pk", flat=True):
            try:
                with transaction.atomic():
                    model._base_manager.filter(pk=pk).update(**{field_name: target})
            except IntegrityError:
                continue


# How long a browser's first write keeps its contributor for the requests it sent alongside:
# a slow phone upload may reach the server minutes after the one that created the contributor.
FIRST_WRITE_WINDOW_SECONDS = 600


def contributor_for_first_write(*, browser: str | None) -> Contributor:
    """A new anonymous contributor, shared by every request one browser sends before any of
    them has its session cookie (two uploads at once, several tabs).

    `browser` is a key those requests have in common (derived from the CSRF cookie, which every
    write carries). The first request to claim it in the cache creates the contributor; the
    others take that one. Call it outside a transaction, so the winner's row is committed before
    anyone else points at it.
    """
    contributor = Contributor.objects.create()
    if browser is None:
        return contributor
    key = f"contributors:first-write:{browser}"
    if cache.add(key, contributor.pk, FIRST_WRITE_WINDOW_SECONDS):
        return contributor
    winner = Contributor.objects.filter(
        pk=cache.get(key), user__isnull=True, merged_into__isnull=True
    ).first()
    if winner is None:  # the claim expired or its contributor signed up meanwhile
        cache.set(key, contributor.pk, FIRST_WRITE_WINDOW_SECONDS)
        return contributor
    contributor.delete()  # created a moment ago, nothing points at it
    return winner


def contributor_network_note(*, contributor: Contributor, network: str) -> None:
    """Remember the network of a contributor's latest write (what a network ban names); one
    UPDATE only when it changed."""
    if contributor.last_network != network:
        contributor.last_network = network
        Contributor.objects.filter(pk=contributor.pk).update(last_network=network)


def _user_contributor(user: AbstractBaseUser) -> Contributor:
    """The user's contributor, created if missing; two first requests at once get one row."""
    existing = Contributor.objects.filter(user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Contributor.objects.create(user=user)
    except IntegrityError:  # the user's other request created it a moment ago
        return Contributor.objects.get(user=user)


@transaction.atomic
def contributor_claim_for_user(
    *, anonymous: Contributor | None, user: AbstractBaseUser
) -> Contributor:
    """The contributor of a user who just logged in or signed up, absorbing their anonymous work."""
    existing = Contributor.objects.select_for_update().filter(user=user).first()
    if anonymous is not None and anonymous.user_id is None and anonymous.merged_into_id is None:
        if existing is None:
            try:
                with transaction.atomic():
                    anonymous.user = user
                    anonymous.save(update_fields=["user"])
                return anonymous
            except IntegrityError:  # a parallel request made the user's contributor meanwhile
                anonymous.user = None
                existing = Contributor.objects.select_for_update().get(user=user)
        return contributor_merge(source=anonymous, target=existing)
    return existing or _user_contributor(user)


def _login_epoch_key(username: str) -> str:
    return f"contributors:login-epoch:{username[:150].strip().casefold()}"


def login_failures_key(username: str) -> str:
    """The rate-limit key counting failed log-ins for an account name (case-insensitive, so
    spelling variants share it); a password reset starts a fresh count."""
    name = username[:150].strip().casefold()
    return f"account:{name}:{cache.get(_login_epoch_key(username), 0)}"


def login_failures_forget(*, username: str) -> None:
    """Forget the failed log-ins of an account name: its owner just reset the password through
    their email, so someone else's failures must not keep them out."""
    key = _login_epoch_key(username)
    cache.add(key, 0, timeout=None)
    cache.incr(key)


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key is not recoverable afterwards."""
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=key[: ApiToken.PREFIX_LENGTH],
        digest=ApiToken.digest_of(key),
    )
    return token, key


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when there was no such active token."""
    return bool(
        ApiToken.objects.active().filter(user=user, pk=token_id).update(revoked_at=timezone.now())
    )
