from django.apps import AppConfig


class LabelsAppConfig(AppConfig):
    name = "labels_app"
    verbose_name = "Labels"

    def ready(self):
        from contributors.contributions import contribution_counter_register
        from donations.labelling import donation_labelling_register

        from .models import ImageLabel
        from .services import label_texts_clean, labels_add

        donation_labelling_register(clean=label_texts_clean, attach=labels_add)

        contribution_counter_register(
            key="labels_added",
            title="Labels added",
            count=lambda contributor: ImageLabel.objects.filter(added_by=contributor).count(),
        )
