from django_tasks import task

from .services import image_flag_near_duplicate


@task()
def flag_near_duplicate(image_id: str) -> None:
    image_flag_near_duplicate(image_id=image_id)
