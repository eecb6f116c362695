from django_tasks import task

from annotations.services import contributor_reviews_recount

from .services import contributor_votes_recount


@task()
def recount_contributor_votes(contributor_id: int) -> int:
    """Count or stop counting everything a contributor judged: label votes, annotation reviews
    and refinement quiz answers (after passing training, demotion, or a moderator's change)."""
    return contributor_votes_recount(contributor_id=contributor_id) + contributor_reviews_recount(
        contributor_id=contributor_id
    )
