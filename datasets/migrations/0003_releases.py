import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contributors", "0003_moderation_fields"),
        ("datasets", "0002_export_outlines"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContributorPseudonym",
            fields=[
                (
                    "contributor",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="contributors.contributor",
                    ),
                ),
                ("pseudonym", models.CharField(max_length=32, unique=True)),
            ],
        ),
        migrations.CreateModel(
            name="DatasetRelease",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=40, unique=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "since",
                    models.CharField(
                        blank=True,
                        help_text="The full release an incremental one builds on.",
                        max_length=40,
                    ),
                ),
                (
                    "storage_prefix",
                    models.CharField(help_text="Its folder in media storage.", max_length=200),
                ),
                (
                    "counts",
                    models.JSONField(default=dict, help_text="Records per table, image files."),
                ),
                (
                    "files",
                    models.JSONField(
                        default=list, help_text="Its data and metadata files: name, bytes, sha256."
                    ),
                ),
                (
                    "byte_size",
                    models.PositiveBigIntegerField(
                        default=0, help_text="All files, images included."
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
    ]
