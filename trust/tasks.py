from django_tasks import task

from .recounts import contributor_recount
from .reliability import reliability_update, upkeep_run


@task()
def recount_contributor_judgements(contributor_id: int) -> int:
    """Count or stop counting everything a contributor judged (after passing training, a
    demotion, a merge, a moderator's change, or a weight that moved)."""
    return contributor_recount(contributor_id=contributor_id)


@task()
def estimate_reliability() -> dict:
    """Estimate every voter's reliability from agreement and act on it (trust.reliability),
    then run the task apps' upkeep (topping up gold pools)."""
    return {"reliability": reliability_update(), **upkeep_run()}
