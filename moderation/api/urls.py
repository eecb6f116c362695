from django.urls import path

from . import views

urlpatterns = [
    path("reports/", views.ReportCreate.as_view(), name="api-report-create"),
]
