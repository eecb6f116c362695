from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        from core.events import listen

        from . import alerts, live
        from .services import action_record, donation_screen_enqueue, refuse_banned_network

        listen("contributor.writing", refuse_banned_network)
        # Decisions made by the task apps' own services (unlock, reject, gold, ...).
        listen("moderation.decided", action_record)
        listen("image_label.consensus_flipped", alerts.consensus_flipped)
        listen("judgements.given", alerts.judgements_given)
        listen("contributor.demoted", alerts.contributor_demoted)
        listen("contributor.created", alerts.identity_created)
        listen("moderation.alert", live.alert_send)
        listen("images.changed", live.counts_send)
        listen("image.donated", donation_screen_enqueue)
