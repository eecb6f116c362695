from django.urls import path

from . import statistics, views

urlpatterns = [
    path("exports/", views.ExportView.as_view(), name="api-export"),
    path("exports/count/", views.ExportCount.as_view(), name="api-export-count"),
    path("exports/jobs/", views.ExportJobCreate.as_view(), name="api-export-job-create"),
    path("exports/jobs/<uuid:pk>/", views.ExportJobDetail.as_view(), name="api-export-job"),
    path("exports/download/<str:token>/", views.ExportDownload.as_view(), name="export-download"),
    path("statistics/", statistics.StatisticsView.as_view(), name="api-statistics"),
    path(
        "statistics/labels/",
        statistics.LabelStatisticsView.as_view(),
        name="api-statistics-labels",
    ),
]
