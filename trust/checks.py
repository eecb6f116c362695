"""Settings that would undo a trust rule are refused at start-up, not discovered in the data."""

from django.conf import settings
from django.core import checks

from .evidence import decisive_evidence


@checks.register(checks.Tags.compatibility)
def two_voters_cannot_decide(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Two voters at the cap must stay short of a decision (three decide): otherwise two
    trusted sleepers decide any item they meet together."""
    cap, decisive = settings.CONSENSUS_MAX_VOTE_WEIGHT, decisive_evidence()
    if 2 * cap < decisive:
        return []
    return [
        checks.Error(
            f"CONSENSUS_MAX_VOTE_WEIGHT={cap} lets two votes decide an item "
            f"(the decisive evidence is {decisive:.2f}).",
            hint=f"Use a cap below {decisive / 2:.2f}, or raise CONSENSUS_DECISIVE_PROBABILITY.",
            id="trust.E001",
        )
    ]
