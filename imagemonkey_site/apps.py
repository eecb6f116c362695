from django.apps import AppConfig


class ImagemonkeySiteConfig(AppConfig):
    name = "imagemonkey_site"
    verbose_name = "ImageMonkey site"

    def ready(self):
        from django.contrib import admin

        from core.events import listen

        from .live import activity_send, totals_announce

        listen("images.changed", totals_announce)
        listen("activity", activity_send)

        # Moderators should see whose admin they are in, not Django's default name.
        admin.site.site_header = "ImageMonkey moderation"
        admin.site.site_title = "ImageMonkey admin"
        admin.site.index_title = "Moderate donations, labels and annotations"
