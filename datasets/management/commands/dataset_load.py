from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from datasets.dumps.loader import dump_load


class Command(BaseCommand):
    help = (
        "Check every file of the release in DIR against its sha256 and restore it into this "
        "(empty) instance, keeping every id; refused, with nothing loaded, when any file does "
        "not match."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR")
        parser.add_argument(
            "--force",
            action="store_true",
            help="load into a database that has data: only what is not there is added",
        )

    def handle(self, *args, **options):
        try:
            added = dump_load(directory=Path(options["directory"]), force=options["force"])
        except DomainError as refusal:
            raise CommandError(refusal.message) from None
        self.stdout.write("Loaded " + ", ".join(f"{name}: {n:,}" for name, n in added.items()))
