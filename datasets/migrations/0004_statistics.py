import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0003_releases"),
        ("labels_app", "0007_imagelabel_withdrawn"),
    ]

    operations = [
        migrations.CreateModel(
            name="StatisticsDay",
            fields=[
                ("day", models.DateField(primary_key=True, serialize=False)),
                ("donations", models.PositiveIntegerField(default=0)),
                ("labels", models.PositiveIntegerField(default=0)),
                ("votes", models.PositiveIntegerField(default=0)),
                ("annotations", models.PositiveIntegerField(default=0)),
                (
                    "contributors",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Distinct contributors who donated, labelled, voted or outlined.",
                    ),
                ),
            ],
            options={"ordering": ["day"]},
        ),
        migrations.CreateModel(
            name="LabelStatistics",
            fields=[
                (
                    "label",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="labels_app.label",
                    ),
                ),
                (
                    "images",
                    models.PositiveIntegerField(
                        default=0, help_text="Public images with the label."
                    ),
                ),
                ("confirmed", models.PositiveIntegerField(default=0)),
                ("rejected", models.PositiveIntegerField(default=0)),
                (
                    "open",
                    models.PositiveIntegerField(
                        default=0, help_text="Still waiting for a decision."
                    ),
                ),
                (
                    "annotated",
                    models.PositiveIntegerField(default=0, help_text="With a visible outline."),
                ),
                (
                    "unannotated",
                    models.PositiveIntegerField(
                        default=0, help_text="Confirmed object labels still waiting for an outline."
                    ),
                ),
                (
                    "waiting",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Tasks left: open plus unannotated (how much help it needs).",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("waiting__gt", 0)),
                        fields=["-waiting", "-images"],
                        name="label_statistics_waiting",
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "waiting",
                                django.db.models.expressions.CombinedExpression(
                                    models.F("open"), "+", models.F("unannotated")
                                ),
                            )
                        ),
                        name="label_statistics_waiting_sum",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="StatisticsSnapshot",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("refreshed_at", models.DateTimeField()),
                (
                    "full_recount_at",
                    models.DateTimeField(help_text="When every day was last recounted."),
                ),
                ("took_seconds", models.FloatField(help_text="How long the recount took.")),
                ("images", models.PositiveBigIntegerField(help_text="Public images.")),
                (
                    "image_labels",
                    models.PositiveBigIntegerField(help_text="Labels on public images."),
                ),
                (
                    "votes",
                    models.PositiveBigIntegerField(help_text="Counted votes on those labels."),
                ),
                (
                    "annotations",
                    models.PositiveBigIntegerField(help_text="Visible outlines on those labels."),
                ),
                (
                    "contributors",
                    models.PositiveBigIntegerField(
                        help_text=(
                            "Active contributors: with a public contribution in the last 30 days."
                        )
                    ),
                ),
                (
                    "labels",
                    models.PositiveIntegerField(
                        help_text="Catalog labels on at least one public image."
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="statistics_snapshot_single"
                    )
                ]
            },
        ),
    ]
