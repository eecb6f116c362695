from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
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
        field_name = relation.field.name
        relation.related_model._base_manager.filter(**{field_name: source}).update(
            **{field_name: target}
        )
    Contributor.objects.filter(pk=target.pk).update(points=F("points") + source.points)
    source.merged_into = target
    source.points = 0
    source.save(update_fields=["merged_into", "points"])
    target.refresh_from_db(fields=["points"])
    return target


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
