from django_tasks import task

from .recounts import contributor_recount
from .reliability import reliability_update


@task()
def recount_contributor_judgements(contributor_id: int) -> int:
    """Count or stop counting everything a contributor judged (after passing training, a
    demotion, a merge, a moderator's change, or a weight that moved)."""
    return contributor_recount(contributor_id=contributor_id)


@task()
def estimate_reliability() -> dict[str, int]:
    """Estimate every voter's reliability from agreement and act on it (trust.reliability)."""
    return reliability_update()
