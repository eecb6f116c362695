"""/v1 accounts: sign-up, log-in (Basic) and log-out, on the site's accounts and API tokens.

A /v1 log-in issues one of the site's API tokens (named "v1 log-in", listed and revocable on the
profile page), sent back as `Authorization: Bearer <token>`; log-out revokes it."""

import base64
import binascii

from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from contributors.forms import SignUpForm
from contributors.models import ApiToken
from contributors.services import api_token_create, api_token_revoke, login_failures_key
from core.ratelimits import rate_limit

from .wire import V1Error, V1View, body_json, null, token_of

TAKEN = "Couldn't process request - username or email already taken"
LOGIN_TOKEN_NAME = "v1 log-in"  # noqa: S105 (a token's display name, not a secret)


def _basic(request) -> tuple[str, str] | None:
    header = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(header) != 2 or header[0].lower() != "basic":
        return None
    try:
        username, _, password = base64.b64decode(header[1], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, password


class Login(V1View):
    @extend_schema(
        summary="Log in with HTTP Basic; answers an access token",
        request=None,
        responses={
            200: OpenApiResponse(description='{"token": "<key>"}'),
            401: OpenApiResponse(description="Invalid username or password"),
            422: OpenApiResponse(description="No Basic credentials"),
        },
    )
    def post(self, request):
        django_request = request._request
        credentials = _basic(django_request)
        if credentials is None:
            raise V1Error(422, "Authorization failed")
        username, password = credentials
        rate_limit(django_request, "login")
        failures = login_failures_key(username)
        rate_limit(django_request, "login_failure", key=failures, count=False)
        user = authenticate(django_request, username=username, password=password)
        if user is None:
            rate_limit(django_request, "login_failure", key=failures)
            # One answer for an unknown name and a wrong password (the original's differ,
            # which tells a guesser which names exist).
            raise V1Error(401, "Invalid username or password")
        _token, key = api_token_create(user=user, name=LOGIN_TOKEN_NAME)
        return Response({"token": key})


class Logout(V1View):
    @extend_schema(
        summary="Revoke the access token of this request",
        request=None,
        responses={200: OpenApiResponse(description="null")},
    )
    def post(self, request):
        key = token_of(request._request, "HTTP_AUTHORIZATION", scheme="bearer")
        token = ApiToken.objects.matching_key(key) if key else None
        if token is not None:
            api_token_revoke(user=token.user, token_id=token.pk)
        return null()


class Signup(V1View):
    @extend_schema(
        summary='Create an account: {"username", "email", "password"}',
        request={"application/json": {"type": "object"}},
        responses={
            201: OpenApiResponse(description="null"),
            400: OpenApiResponse(description="Malformed body"),
            409: OpenApiResponse(description="Username or e-mail taken"),
            422: OpenApiResponse(description="Empty field, invalid username or weak password"),
        },
    )
    def post(self, request):
        body = body_json(request, message="Couldn't process request - invalid body", types=(dict,))
        fields = {name: body.get(name) for name in ("username", "email", "password")}
        if not all(isinstance(value, str) and value for value in fields.values()):
            raise V1Error(422, "Couldn't process request - username, email and password required")
        if not fields["username"].isascii() or not fields["username"].isalnum():
            raise V1Error(422, "Couldn't process request - username contains invalid characters")
        rate_limit(request._request, "signup")
        users = get_user_model().objects
        if (
            users.filter(username__iexact=fields["username"]).exists()
            or users.filter(email__iexact=fields["email"]).exists()
        ):
            raise V1Error(409, TAKEN)
        form = SignUpForm(
            data={
                "username": fields["username"],
                "email": fields["email"],
                "password1": fields["password"],
                "password2": fields["password"],
            }
        )
        if not form.is_valid():
            first = next(iter(form.errors.values()))[0]
            raise V1Error(422, f"Couldn't process request - {first}")
        try:
            with transaction.atomic():
                form.save()
        except IntegrityError:
            raise V1Error(
                409, "Couldn't process request - username or email already taken"
            ) from None
        return null(201)
