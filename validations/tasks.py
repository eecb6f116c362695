from django_tasks import task

from .services import contributor_votes_recount


@task()
def recount_contributor_votes(contributor_id: int) -> int:
    return contributor_votes_recount(contributor_id=contributor_id)
