from django_tasks import task


@task()
def build_export_archive(job_id: str) -> None:
    from .services import export_archive_build

    export_archive_build(job_id=job_id)


@task()
def clean_up_exports() -> None:
    from .services import exports_clean_up

    exports_clean_up()


@task()
def make_release() -> str | None:
    """The periodic public release (DATASET_RELEASE_INTERVAL_HOURS); schedules the next."""
    from .dumps.releases import release_periodic

    release = release_periodic()
    return release.name if release is not None else None
