from django.urls import path

from . import views

urlpatterns = [
    path("exports/", views.ExportView.as_view(), name="api-export"),
]
