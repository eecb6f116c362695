from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("validations", "0003_trust_agreement")]

    operations = [
        migrations.AddIndex(
            model_name="vote",
            index=models.Index(fields=["created_at"], name="vote_created_at"),
        ),
    ]
