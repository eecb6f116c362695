"""Trust-dependent rate limits on every write, per contributor and per IP network.

Counters live in the default cache (Redis in the scaled mode, so limits hold across server
processes). Networks are IPv4 /32 and IPv6 /64 (RATELIMIT_IPV4_MASK / RATELIMIT_IPV6_MASK).
"""

from django.conf import settings
from django_ratelimit.core import get_usage

from core.errors import DomainError

PERIODS = {"minute": "m", "hour": "h", "day": "d"}
PERIOD_WORDS = {"minute": "a minute", "hour": "an hour", "day": "a day"}


def _identity(group, request) -> str:
    contributor = getattr(request, "contributor", None)
    if contributor is not None:
        return f"contributor:{contributor.pk}"
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        return f"session:{session.session_key}"
    return "anonymous"  # The network limit below still applies to first-time visitors.


def rate_limit(request, scope: str) -> None:
    """Count one `scope` action for this request; raise a 429 DomainError when over a limit."""
    if not settings.RATELIMIT_ENABLE:
        return
    request = getattr(request, "_request", request)  # DRF wraps the Django request
    contributor = getattr(request, "contributor", None)
    level = contributor.trust_level if contributor is not None else 0
    for period, per_level in settings.RATE_LIMITS[scope].items():
        allowed = per_level[level]
        if allowed is None:
            continue
        rules = [("ip", allowed * settings.RATE_LIMIT_NETWORK_MULTIPLIER)]
        if scope not in settings.RATE_LIMITS_NETWORK_ONLY:
            rules.insert(0, (_identity, allowed))
        for key, limit in rules:
            usage = get_usage(
                request,
                group=f"{scope}:{period}:{'network' if key == 'ip' else 'contributor'}",
                key=key,
                rate=f"{limit}/{PERIODS[period]}",
                increment=True,
            )
            if usage and usage["should_limit"]:
                retry_after = max(1, int(usage["time_left"]))
                who = "from your network" if key == "ip" else "from you"
                raise DomainError(
                    f"Too many {scope} requests {who}: at most {limit} in {PERIOD_WORDS[period]}. "
                    f"Please try again in {retry_after} seconds.",
                    code="rate_limited",
                    status=429,
                    retry_after=retry_after,
                )
