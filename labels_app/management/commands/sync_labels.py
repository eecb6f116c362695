from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from labels_app.catalog_files import CATALOG_DIR, CatalogError, catalog_read
from labels_app.services import catalog_sync


class Command(BaseCommand):
    help = "Load the label catalog files into the database (idempotent; never deletes data)."

    def add_arguments(self, parser):
        parser.add_argument("--catalog", type=Path, default=CATALOG_DIR, help="Catalog folder.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report, but change nothing."
        )

    def handle(self, *args, catalog: Path, dry_run: bool, **options):
        try:
            entries = catalog_read(catalog)
        except CatalogError as error:
            raise CommandError(
                f"The label catalog has {len(error.problems)} problem(s):\n  "
                + "\n  ".join(error.problems)
            ) from None
        with transaction.atomic():
            report = catalog_sync(entries=entries)
            if dry_run:
                transaction.set_rollback(True)
        for heading, names in (
            ("created", report.created),
            ("updated", report.updated),
            ("reactivated", report.reactivated),
            ("deactivated", report.deactivated),
        ):
            if names:
                self.stdout.write(f"{heading} ({len(names)}): {', '.join(sorted(names))}")
        verb = "would change" if dry_run else "synced"
        summary = (
            f"{len(entries)} labels in the catalog; {verb}: {len(report.created)} created, "
            f"{len(report.updated)} updated, {len(report.reactivated)} reactivated, "
            f"{len(report.deactivated)} deactivated."
        )
        self.stdout.write(self.style.SUCCESS(summary) if report.changed else summary)
