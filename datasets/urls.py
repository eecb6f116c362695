from django.urls import path

from . import views

urlpatterns = [
    path("datasets/export/", views.ExportPageView.as_view(), name="export"),
    path("datasets/export/jobs/<uuid:pk>/", views.ExportJobPageView.as_view(), name="export-job"),
]
