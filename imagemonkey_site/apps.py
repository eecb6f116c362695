from django.apps import AppConfig


class ImagemonkeySiteConfig(AppConfig):
    name = "imagemonkey_site"
    verbose_name = "ImageMonkey site"
