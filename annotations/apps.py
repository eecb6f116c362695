from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Annotations"

    def ready(self):
        from contributors.contributions import contribution_counter_register
        from trust.recounts import recounter_register
        from trust.reliability import answers_register

        from .models import AnnotationRevision, AnnotationVote, RefinementAnswer
        from .services import contributor_reviews_recount, quiz_answers, review_answers

        recounter_register("annotation_reviews_and_quiz", contributor_reviews_recount)
        answers_register("annotation_reviews", review_answers)
        answers_register("quiz_answers", quiz_answers)

        contribution_counter_register(
            key="outlines_drawn",
            title="Outlines drawn or reworked",
            count=lambda contributor: AnnotationRevision.objects.filter(author=contributor).count(),
        )
        contribution_counter_register(
            key="annotation_reviews",
            title="Outlines reviewed",
            count=lambda contributor: AnnotationVote.objects.filter(
                contributor=contributor
            ).count(),
        )
        contribution_counter_register(
            key="quiz_answers",
            title="Quick questions answered",
            count=lambda contributor: RefinementAnswer.objects.filter(
                contributor=contributor
            ).count(),
        )
