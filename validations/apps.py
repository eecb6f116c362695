from django.apps import AppConfig


class ValidationsConfig(AppConfig):
    name = "validations"
    verbose_name = "Validations"

    def ready(self):
        from contributors.contributions import contribution_counter_register
        from core.events import listen
        from trust.recounts import recounter_register
        from trust.reliability import answers_register, upkeep_register

        from .models import Vote
        from .services import (
            contributor_votes_recount,
            gold_replenish,
            image_label_not_seen,
            label_answers,
            questions_open_on_unlock,
        )

        recounter_register("label_votes", contributor_votes_recount)
        answers_register("label_votes", label_answers)
        upkeep_register("gold_replenish", gold_replenish)
        listen("image_label.not_seen", image_label_not_seen)
        listen("images.unlocked", questions_open_on_unlock)

        contribution_counter_register(
            key="label_votes",
            title="Labels validated",
            count=lambda contributor: Vote.objects.filter(contributor=contributor).count(),
        )
