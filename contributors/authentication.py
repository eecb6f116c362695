from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken

LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` (or `Bearer <key>`) with a key from the profile page."""

    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Token <key>'."
            )
        token = ApiToken.objects.matching_key(header[1].decode(errors="replace"))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            # At most one write per token every few minutes, not one per request.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request._request.contributor = token.contributor
        return token.user, token

    def authenticate_header(self, request):
        return "Token"


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Session authentication that checks CSRF on every unsafe request, anonymous ones too.

    DRF only checks CSRF for logged-in users; anonymous visitors contribute here, so a forged
    cross-site POST could otherwise write in their name.
    """

    def authenticate(self, request):
        user = getattr(request._request, "user", None)
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            self.enforce_csrf(request)
        if not user or not user.is_active:
            return None
        return user, None
