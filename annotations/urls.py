from django.urls import path

from . import views

urlpatterns = [
    path("annotate/", views.AnnotateView.as_view(), name="annotate"),
    path("annotate/browse/", views.BrowseView.as_view(), name="annotate-browse"),
    path("annotate/review/", views.ReviewView.as_view(), name="annotate-review"),
    path("annotate/quiz/", views.QuizView.as_view(), name="annotate-quiz"),
]
