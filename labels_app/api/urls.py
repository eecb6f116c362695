from django.urls import path

from . import views

urlpatterns = [
    path("labels/", views.LabelSearch.as_view(), name="api-label-search"),
    path("labelling/next/", views.NextLabellingTask.as_view(), name="api-labelling-next"),
    path("images/<uuid:pk>/labels/", views.ImageLabels.as_view(), name="api-image-labels"),
    path(
        "images/<uuid:pk>/labelling-skip/", views.LabellingSkip.as_view(), name="api-labelling-skip"
    ),
    path("image-labels/", views.ImageLabelList.as_view(), name="api-image-label-list"),
]
