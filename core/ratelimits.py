"""Trust-dependent rate limits on every write, per visitor and per IP network.

Counters live in the default cache (Redis in the scaled mode, so limits hold across server
processes). Networks are IPv4 /32 and IPv6 /64 (RATELIMIT_IPV4_MASK / RATELIMIT_IPV6_MASK).

What is counted, per scope in `settings.RATE_LIMITS` (numbers per period and trust level):
- a visitor with an identity (contributor, account or session) against their own number;
- their IP network against that number times RATE_LIMIT_NETWORK_MULTIPLIER, so people behind
  one address are not starved but one network cannot flood the site. A first-time visitor
  (no session yet) is counted by their network only: there is no bucket shared by every
  newcomer, so nobody can exhaust it for the rest of the world;
- scopes in RATE_LIMITS_NETWORK_ONLY (sign-up, log-in) by network alone, at exactly the
  configured number;
- scopes keyed by something the request names (failed log-ins per account name) against that
  key alone, at the configured number, wherever the requests come from.
"""

import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django_ratelimit.core import _get_ip, get_usage

from core.errors import DomainError

PERIODS = {"minute": "m", "hour": "h", "day": "d"}
PERIOD_WORDS = {"minute": "a minute", "hour": "an hour", "day": "a day"}
# How a refusal names what was limited (others read "Too many vote requests").
SCOPE_WORDS = {"login_failure": "failed log-ins"}


def network_of(request) -> str:
    """The request's IP network as the rate limits count it (behind a proxy: its header)."""
    request = getattr(request, "_request", request)
    try:
        return _get_ip(request)  # django-ratelimit's own reading, masks and proxy header included
    except (KeyError, ValueError, ImproperlyConfigured):
        # No usable address (a misconfigured proxy, a test harness): such requests share one
        # network rather than failing.
        return "unknown"


def wider_network(address: str) -> str:
    """The IPv4 /24 or IPv6 /48 an address is in ("" when it is not an address): what counts
    as one independent source (reports, votes, new identities)."""
    try:
        ip = ipaddress.ip_address(address.split("/")[0])
    except ValueError:
        return ""
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


def network_key(request) -> str:
    """A short keyed digest of the request's wider network, for telling independent sources
    of judgements apart without storing addresses; "" when unknown."""
    network = wider_network(network_of(request))
    if not network:
        return ""
    digest = hmac.new(settings.SECRET_KEY.encode(), network.encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def _network_key(group, request) -> str:
    return network_of(request)


def visitor_key(request) -> str | None:
    """Who the request is from, for personal limits; None for a first-time visitor."""
    contributor = getattr(request, "contributor", None)
    if contributor is not None:
        return f"contributor:{contributor.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        return f"session:{session.session_key}"
    return None


def _fixed(value: str):
    return lambda group, request: value


def _rules(request, scope: str, allowed: int, key: str | None) -> list[tuple[str, object, int]]:
    """(who, key function, limit) for each counter one action of `scope` touches."""
    if key is not None:
        return [("key", _fixed(key), allowed)]
    if scope in settings.RATE_LIMITS_NETWORK_ONLY:
        return [("network", _network_key, allowed)]
    rules: list[tuple[str, object, int]] = []
    personal = visitor_key(request)
    if personal is not None:
        rules.append(("visitor", _fixed(personal), allowed))
    rules.append(("network", _network_key, allowed * settings.RATE_LIMIT_NETWORK_MULTIPLIER))
    return rules


def rate_limit(
    request, scope: str, *, key: str | None = None, count: bool = True, cost: int = 1
) -> None:
    """Count one `scope` action for this request; raise a 429 DomainError when over a limit.

    `key` counts against that key alone (e.g. an account name) instead of the visitor and their
    network; `count=False` only checks, so an action can be refused before it is attempted and
    counted afterwards only if it failed. `cost` counts an expensive action as that many.
    """
    if not settings.RATELIMIT_ENABLE:
        return
    request = getattr(request, "_request", request)  # DRF wraps the Django request
    contributor = getattr(request, "contributor", None)
    level = contributor.trust_level if contributor is not None else 0
    for period, per_level in settings.RATE_LIMITS[scope].items():
        allowed = per_level[level]
        if allowed is None:
            continue
        for who, key_function, limit in _rules(request, scope, allowed, key):
            counter = {
                "group": f"{scope}:{period}:{who}",
                "key": key_function,
                "rate": f"{limit}/{PERIODS[period]}",
            }
            # django-ratelimit counts one at a time; an action of cost n adds n.
            for _ in range(cost - 1 if count else 0):
                get_usage(request, increment=True, **counter)
            usage = get_usage(request, increment=count, **counter)
            if usage and usage["should_limit"]:
                raise _limited(scope, who, limit, period, usage)


def _limited(scope: str, who: str, limit: int, period: str, usage: dict) -> DomainError:
    retry_after = max(1, int(usage["time_left"]))
    source = {
        "visitor": "from you",
        "network": "from your network",
        "key": "for this account" if scope.startswith("login") else "for this key",
    }[who]
    what = SCOPE_WORDS.get(scope, f"{scope} requests")
    return DomainError(
        f"Too many {what} {source}: at most {limit} in {PERIOD_WORDS[period]}. "
        f"Please try again in {retry_after} seconds.",
        code="rate_limited",
        status=429,
        retry_after=retry_after,
    )
