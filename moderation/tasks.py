from django_tasks import task


@task()
def protect_removed_files(image_id: str) -> int:
    from donations.services import image_files_protect

    return image_files_protect(image_id=image_id)


@task()
def screen_donation(image_id: str) -> str:
    from .services import donation_screen

    return donation_screen(image_id=image_id)


@task()
def raise_alert(**alert) -> int:
    from .services import alert_raise

    return alert_raise(**alert).pk


@task()
def delete_removed_files() -> int:
    from .services import removed_files_delete

    return removed_files_delete()


@task()
def run_revert(revert_id: int) -> dict:
    from .services import revert_run

    return revert_run(revert_id=revert_id).summary


@task()
def undo_revert(revert_id: int) -> str:
    from .services import revert_undo_run

    return revert_undo_run(revert_id=revert_id).state
