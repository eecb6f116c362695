from django.urls import path

from . import views
from .dumps.views import ReleasesPageView
from .statistics_views import LabelGraphPageView, StatisticsPageView

urlpatterns = [
    path("datasets/export/", views.ExportPageView.as_view(), name="export"),
    path("datasets/export/jobs/<uuid:pk>/", views.ExportJobPageView.as_view(), name="export-job"),
    path("datasets/releases/", ReleasesPageView.as_view(), name="dataset-releases"),
    path("statistics/", StatisticsPageView.as_view(), name="statistics"),
    path(
        "statistics/labels/graph/",
        LabelGraphPageView.as_view(),
        name="statistics-label-graph",
    ),
]
