from django_tasks import task


@task()
def build_export_archive(job_id: str) -> None:
    from .services import export_archive_build

    export_archive_build(job_id=job_id)


@task()
def clean_up_exports() -> None:
    from .services import exports_clean_up

    exports_clean_up()
