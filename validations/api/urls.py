from django.urls import path

from . import views

urlpatterns = [
    path("validations/next/", views.NextValidationTask.as_view(), name="api-validation-next"),
    path("validations/grid/", views.ValidationGrid.as_view(), name="api-validation-grid"),
    path(
        "validations/<id:pk>/skip/",
        views.ValidationSkipCreate.as_view(),
        name="api-validation-skip",
    ),
    path("votes/", views.VoteCreate.as_view(), name="api-vote-create"),
    path("votes/batch/", views.VoteBatchCreate.as_view(), name="api-vote-batch"),
]
