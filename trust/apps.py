from django.apps import AppConfig


class TrustConfig(AppConfig):
    """Judging the judges: the gold record, training, promotion and demotion, the weight of a
    judgement, the evidence arithmetic, gold scheduling and recounts.

    Task apps report judgements here and register how to recount their own rows; trust imports
    no task app."""

    name = "trust"
    verbose_name = "Trust"

    def ready(self):
        from core.events import listen

        from . import checks  # noqa: F401  (registers the system checks)
        from .services import trust_records_merge

        listen("contributor.merged", trust_records_merge)
