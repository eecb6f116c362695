from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotations", "0007_annotation_hidden")]

    operations = [
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(fields=["created_at"], name="annotation_created_at"),
        ),
    ]
