from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("labels_app", "0007_imagelabel_withdrawn")]

    operations = [
        migrations.AddIndex(
            model_name="imagelabel",
            index=models.Index(fields=["created_at"], name="image_label_created_at"),
        ),
    ]
