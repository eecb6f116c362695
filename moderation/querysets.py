from __future__ import annotations

import ipaddress

from django.db import models
from django.utils import timezone


def ban_networks_of(address: str) -> list[str]:
    """The networks a ban may name that hold `address` (IPv4 /32 and /24, IPv6 /64)."""
    try:
        ip = ipaddress.ip_address(address.split("/")[0])
    except ValueError:
        return []
    prefixes = (32, 24) if ip.version == 4 else (64,)
    return [str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)) for prefix in prefixes]


def active_q() -> models.Q:
    """The rule for a ban in force: not lifted, and for good or not yet over."""
    return models.Q(lifted_at__isnull=True) & (
        models.Q(until__isnull=True) | models.Q(until__gt=timezone.now())
    )


class BanQuerySet(models.QuerySet):
    def active(self) -> BanQuerySet:
        return self.filter(active_q())

    def with_active(self) -> BanQuerySet:
        """Each ban with `is_active`, for lists (one query, the same rule as active())."""
        return self.annotate(
            is_active=models.ExpressionWrapper(active_q(), output_field=models.BooleanField())
        )

    def of_address(self, address: str) -> BanQuerySet:
        """Network bans covering this address."""
        return self.filter(network__in=ban_networks_of(address))


class ReportCaseQuerySet(models.QuerySet):
    def open(self) -> ReportCaseQuerySet:
        return self.filter(state="open")

    def of_target(self, *, target_type: str, target_id) -> ReportCaseQuerySet:
        return self.filter(target_type=target_type, **{f"{target_type}_id": target_id})
