from django_tasks import task


@task()
def refresh_statistics() -> None:
    from .refresh import statistics_refresh

    statistics_refresh()
