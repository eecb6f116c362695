from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"
    verbose_name = "Donations"

    def ready(self):
        from contributors.contributions import contribution_counter_register

        from .models import Image

        contribution_counter_register(
            key="donations",
            title="Donations",
            count=lambda contributor: Image.objects.donated_by(contributor).count(),
            url_name="my-donations",
        )
