from django_tasks import task

from .recounts import contributor_recount


@task()
def recount_contributor_judgements(contributor_id: int) -> int:
    """Count or stop counting everything a contributor judged (after passing training, a
    demotion, a merge, or a moderator's change)."""
    return contributor_recount(contributor_id=contributor_id)
