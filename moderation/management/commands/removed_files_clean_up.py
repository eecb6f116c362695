from django.core.management.base import BaseCommand

from moderation.services import removed_files_delete


class Command(BaseCommand):
    help = (
        "Delete the files of images removed more than REMOVED_RETENTION_DAYS ago (run it "
        "daily, e.g. from cron; the task worker also runs it when each retention ends)."
    )

    def handle(self, *args, **options):
        deleted = removed_files_delete()
        self.stdout.write(
            f"Deleted the files of {deleted} removed image{'s' if deleted != 1 else ''}."
        )
