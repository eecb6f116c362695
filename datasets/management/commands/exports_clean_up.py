from django.core.management.base import BaseCommand

from datasets.services import exports_clean_up


class Command(BaseCommand):
    help = "Delete archive exports older than EXPORT_KEEP_SECONDS (run it daily, e.g. from cron)."

    def handle(self, *args, **options):
        removed = exports_clean_up()
        self.stdout.write(f"Removed {removed} old export archive{'s' if removed != 1 else ''}.")
