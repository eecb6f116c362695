from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

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
    target.refresh_from_db(fields=["points", "banned_until"])
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


@transaction.atomic
def contributor_claim_for_user(
    *, anonymous: Contributor | None, user: AbstractBaseUser
) -> Contributor:
    """The contributor of a user who just logged in or signed up, absorbing their anonymous work."""
    existing = Contributor.objects.select_for_update().filter(user=user).first()
    if anonymous is not None and anonymous.user_id is None and anonymous.merged_into_id is None:
        if existing is None:
            anonymous.user = user
            anonymous.save(update_fields=["user"])
            return anonymous
        return contributor_merge(source=anonymous, target=existing)
    return existing or Contributor.objects.create(user=user)


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
