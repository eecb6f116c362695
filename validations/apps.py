from django.apps import AppConfig


class ValidationsConfig(AppConfig):
    name = "validations"
    verbose_name = "Validations"

    def ready(self):
        from contributors.contributions import contribution_counter_register
        from trust.recounts import recounter_register

        from .models import Vote
        from .services import contributor_votes_recount

        recounter_register("label_votes", contributor_votes_recount)

        contribution_counter_register(
            key="label_votes",
            title="Labels validated",
            count=lambda contributor: Vote.objects.filter(contributor=contributor).count(),
        )
