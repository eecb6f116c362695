from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from datasets.dumps.releases import release_make, release_schedule_next
from datasets.dumps.sources import release_source
from datasets.dumps.writer import dump_write


class Command(BaseCommand):
    help = (
        "Write a public release of the dataset (image files as stored, every table as JSON "
        "Lines and Parquet, Croissant metadata, checksums) into the folder OUT, or with "
        "--release into media storage, listed on /datasets/releases/."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", nargs="?", help="a new (or empty) folder to write it into")
        parser.add_argument(
            "--since",
            metavar="RELEASE",
            help="only what changed since this full release (its name on the releases page, "
            "or its folder), with what was deleted since",
        )
        parser.add_argument(
            "--release",
            action="store_true",
            help="write it into media storage and list it on the releases page (and, with "
            "DATASET_RELEASE_INTERVAL_HOURS set, schedule the next one)",
        )

    def handle(self, *args, **options):
        if bool(options["out"]) == options["release"]:
            raise CommandError("Give a folder OUT, or --release (into media storage).")
        try:
            if options["release"]:
                release = release_make(since=options["since"])
                self.stdout.write(
                    f"Release {release.name} is in storage at {release.storage_prefix}."
                )
                if release_schedule_next():
                    self.stdout.write("The next periodic release is scheduled.")
                counts = release.counts
            else:
                since = release_source(options["since"]) if options["since"] else None
                result = dump_write(directory=Path(options["out"]), since=since)
                counts = result.manifest["counts"]
                self.stdout.write(
                    f"Release {result.manifest['name']} written to {result.directory}."
                )
        except DomainError as refusal:
            raise CommandError(refusal.message) from None
        self.stdout.write(", ".join(f"{name}: {count:,}" for name, count in counts.items()))
