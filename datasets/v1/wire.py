"""The wire conventions of the original ImageMonkey `/v1` API (../shared/imagemonkey-v1.md §1–2),
on top of the site's own services: every rule (visibility, trust, rate limits, bans) is theirs.

- Errors are `{"error": "<message>"}` (image routes: text/plain); a success without payload is the
  JSON literal `null`, a 204 has no body.
- Who is asking comes from `Authorization: Bearer <key>` (and `X-Api-Token: <key>` where the
  original honours it), with the site's API tokens. `/v1` never reads or sets a session cookie:
  a browser's session or log-in gives no authority here, so a cross-site request carries none to
  forge. The one ambient thing a browser lends is its network (identities and rate limits are
  counted by it), so a write from a web page of another site (its `Origin` header) needs a token.
- Anonymous clients keep one identity per network and User-Agent, as a cookie-less script would
  expect (the original keeps none: it records nothing per anonymous client).
- Ids: images keep their UUIDs; image-labels ("validations"), annotations and labels have integer
  keys here, written as UUID-shaped strings that carry the key (`wire_id`).
"""

import re
from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse
from django.utils.crypto import salted_hmac
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors.identity import contributor_for_write
from contributors.models import ApiToken, Contributor
from core.api.renderers import FastJSONRenderer
from core.errors import DomainError, suspicious_request_error
from core.ratelimits import network_of
from donations.models import Image
from trust.served import contributor_subject

# How long an anonymous client (network + User-Agent) keeps its contributor between writes.
CLIENT_IDENTITY_SECONDS = 30 * 24 * 3600
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS, GET, PUT, PATCH, HEAD",
    "Access-Control-Allow-Headers": (
        "Content-Type, X-Request-Id, Cache-Control, X-Requested-With, X-Total-Count, "
        "X-Browser-Fingerprint, X-App-Identifier, Authorization, X-Api-Token, X-Moderation, "
        "X-Client-Id, X-Client-Secret"
    ),
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class V1Error(Exception):
    """A refusal in the original's shape: `{"error": message}`, or text/plain on image routes."""

    def __init__(self, status: int, message: str | None, *, plain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.plain = plain

    def response(self) -> HttpResponse:
        if self.plain:
            return HttpResponse(self.message or "", status=self.status, content_type="text/plain")
        body = "null" if self.message is None else _json({"error": self.message})
        return HttpResponse(body, status=self.status, content_type="application/json")


def _json(data) -> bytes:
    return FastJSONRenderer().render(data)


class V1Renderer(FastJSONRenderer):
    """JSON, where `None` is the literal `null` the original answers (DRF would send nothing)."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b"null"
        return super().render(data, accepted_media_type, renderer_context)


class V1Schema(AutoSchema):
    """The /v1 routes under their own tag in the OpenAPI schema."""

    def get_tags(self) -> list[str]:
        return ["v1 (ImageMonkey-compatible)"]


def null(status: int = 200) -> Response:
    return Response(None, status=status)


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def empty(status: int = 200) -> HttpResponse:
    """What gin sends when a handler writes nothing: the status and no body."""
    return HttpResponse(b"", status=status, content_type="text/plain")


# ---------------------------------------------------------------------------- identifiers

_WIRE_KINDS = {"validation": 1, "annotation": 2, "label": 3, "suggestion": 4}
_WIRE_ID = re.compile(r"^([0-9a-f]{8})-0000-4000-8000-([0-9a-f]{12})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def wire_id(kind: str, pk: int) -> str:
    """An integer key as the UUID-shaped id the original's clients expect (a valid v4 form)."""
    return f"{_WIRE_KINDS[kind]:08x}-0000-4000-8000-{pk:012x}"


def pk_of(kind: str, text: str) -> int | None:
    """The key inside a `wire_id` of that kind; None for anything else."""
    match = _WIRE_ID.match(str(text).lower())
    if match is None or int(match.group(1), 16) != _WIRE_KINDS[kind]:
        return None
    return int(match.group(2), 16)


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(str(text)))


# ---------------------------------------------------------------------------- query strings


_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")


def _go_unescape(text: str) -> str | None:
    """Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; None when a `%` is not followed
    by two hex digits (the original then refuses the query)."""
    if re.search(r"%(?![0-9a-fA-F]{2})", text):
        return None
    raw = _ESCAPE.sub(lambda m: f"\x00{m.group(1)}", text.replace("+", " "))
    out = bytearray()
    parts = raw.split("\x00")
    out += parts[0].encode()
    for part in parts[1:]:
        out.append(int(part[:2], 16))
        out += part[2:].encode()
    return out.decode("utf-8", errors="replace")


def query_text(request, name: str = "query") -> str | None:
    """A query parameter decoded the way the original does (once more after the usual decoding,
    so clients that encode twice keep working). A value that cannot be decoded again — a `%`
    not followed by two hex digits, as in `annotation.coverage > 10%` sent once-encoded — is
    taken as sent: unambiguous, where the original answers 422."""
    value = request.GET.get(name)
    if value is None:
        return None
    again = _go_unescape(value)
    return value if again is None else again


def flag(request, name: str) -> bool:
    """The original's booleans: true only for the exact string `true`."""
    return request.GET.get(name) == "true"


def body_json(request, *, message: str, types=(list, dict)):
    """The JSON body, or a 400 with the route's own message (the original's gin bind answers
    400 for a missing or malformed body)."""
    import orjson

    try:
        data = orjson.loads(request.body or b"")
    except orjson.JSONDecodeError:
        raise V1Error(400, message) from None
    if not isinstance(data, types):
        raise V1Error(400, message)
    return data


# ---------------------------------------------------------------------------- identity


def token_of(request, header: str, *, scheme: str | None) -> str | None:
    value = request.META.get(header, "").strip()
    if not value:
        return None
    if scheme is None:
        return value
    parts = value.split()
    if len(parts) == 2 and parts[0].lower() == scheme:
        return parts[1]
    return None


def _token_of_key(key: str | None) -> ApiToken | None:
    if not key:
        return None
    token = ApiToken.objects.matching_key(key)
    if token is None or not token.user.is_active:
        return None
    return token


def client_key(request) -> str:
    """One anonymous client: its network and User-Agent, keyed so neither is stored."""
    agent = request.META.get("HTTP_USER_AGENT", "")[:200]
    return salted_hmac("datasets.v1.client", f"{network_of(request)}|{agent}").hexdigest()


def _client_cache_key(request) -> str:
    return f"datasets:v1:client:{client_key(request)}"


def identify(request, *, api_token: bool) -> None:
    """Set `request.user` and `request.contributor` from the request's tokens alone.

    An invalid Bearer token is anonymous (as in the original), except where `api_token` is set
    (donate, labelme): there a non-empty invalid token is a 401, with the original's messages.
    """
    bearer = token_of(request, "HTTP_AUTHORIZATION", scheme="bearer")
    token = _token_of_key(bearer)
    if token is None and bearer and api_token:
        raise V1Error(401, "The provided Access Token is either invalid or was revoked")
    if token is None and api_token:
        key = token_of(request, "HTTP_X_API_TOKEN", scheme=None)
        token = _token_of_key(key)
        if token is None and key:
            raise V1Error(401, "The provided API Token is either invalid or was revoked")
    request.user = token.user if token is not None else AnonymousUser()
    request.token_authenticated = token is not None
    if token is not None:
        request.contributor = token.contributor
        return
    pk = cache.get(_client_cache_key(request))
    request.contributor = (
        Contributor.objects.filter(pk=pk, user__isnull=True, merged_into__isnull=True).first()
        if pk is not None
        else None
    )


def writer(request) -> Contributor:
    """The contributor a /v1 write is recorded under (created at the client's first write),
    through the same checks as every write of the site (bans, new-identity limits)."""
    return contributor_for_write(request, browser=client_key(request), remember=_remember_client)


def _remember_client(request, contributor: Contributor) -> None:
    cache.set(_client_cache_key(request), contributor.pk, CLIENT_IDENTITY_SECONDS)


def audience(request) -> tuple[str, ...]:
    """Whom a /v1 task was handed to: the contributor, the account, else the client."""
    subjects = []
    if request.contributor is not None:
        subjects.append(contributor_subject(request.contributor))
    if request.user.is_authenticated:
        subjects.append(f"u:{request.user.pk}")
    subjects.append(f"b:{client_key(request)}")
    return tuple(subjects)


def _cross_site(request) -> bool:
    origin = request.META.get("HTTP_ORIGIN")
    if not origin or origin == "null":
        return bool(origin)
    return urlsplit(origin).netloc.lower() != request.get_host().lower()


# ---------------------------------------------------------------------------- the view base


class AnyAccept(BaseContentNegotiation):
    """The original answers whatever the Accept header asks (image routes send bytes anyway)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class V1View(APIView):
    """A /v1 endpoint: tokens only (no session, so no CSRF exposure), the original's error and
    success shapes, CORS for every origin, `X-Request-Id` echoed."""

    authentication_classes = []
    permission_classes = []
    renderer_classes = [V1Renderer]
    parser_classes = []  # bodies are read by `body_json` or Django's multipart parsing
    schema = V1Schema()
    content_negotiation_class = AnyAccept
    # Donate and labelme honour X-Api-Token and refuse invalid tokens (reference §2).
    api_token = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        identify(request._request, api_token=self.api_token)
        request.user = request._request.user
        if (
            request.method not in SAFE_METHODS
            and not request._request.token_authenticated
            and _cross_site(request._request)
        ):
            raise V1Error(
                403,
                "Writes from another site's web page need an API token "
                "(Authorization: Bearer <key> or X-Api-Token).",
            )

    def options(self, request, *args, **kwargs):
        return HttpResponse(b"", status=200)

    def handle_exception(self, exc):
        if isinstance(exc, SuspiciousOperation):
            exc = suspicious_request_error(exc)
        if isinstance(exc, V1Error):
            return exc.response()
        if isinstance(exc, DomainError):
            response = V1Error(exc.status, exc.message).response()
            if "retry_after" in exc.extra:
                response["Retry-After"] = str(exc.extra["retry_after"])
            return response
        if isinstance(exc, Http404):
            return V1Error(404, str(exc) or "Not found").response()
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in CORS_HEADERS.items():
            response[header] = value
        request_id = request.META.get("HTTP_X_REQUEST_ID")
        if request_id:
            response["X-Request-Id"] = request_id[:200]
        return response


QUERY_PARAMETERS = [
    OpenApiParameter("query", str, required=True),
    OpenApiParameter("shuffle", str, required=False),
]


def visible_image(request, image_id: str):
    """The image with this id if the request may see it (public, or the token user's own)."""
    if not is_uuid(image_id):
        return None
    return Image.objects.visible_to_request(request._request).filter(pk=image_id).first()


def image_json(request, image, *, provider: bool = True, **more) -> dict:
    """The original's image object: uuid, unlocked, url, width, height (and provider)."""
    return {
        "uuid": str(image.pk),
        **({"provider": "donation"} if provider else {}),
        "url": image_url(request, image),
        "unlocked": image.is_public,
        "width": image.width,
        "height": image.height,
        **more,
    }


def image_url(request, image) -> str:
    """The original's absolute image URL: the donation route when public, else the unverified
    one (which only its donor can read)."""
    route = "donation" if image.is_public else "unverified-donation"
    return request.build_absolute_uri(f"/v1/{route}/{image.pk}")
