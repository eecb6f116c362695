from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from contributors.api.views import Me
from core.api.errors import api_not_found

from . import v1
from .views import HomeView, robots_txt

api_patterns = [
    path("", include("donations.api.urls")),
    path("", include("labels_app.api.urls")),
    path("", include("validations.api.urls")),
    path("", include("annotations.api.urls")),
    path("", include("datasets.api.urls")),
    path("", include("moderation.api.urls")),
    path("me/", Me.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^.*$", api_not_found),
]

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("robots.txt", robots_txt),
    path("", include("donations.urls")),
    path("", include("labels_app.urls")),
    path("", include("validations.urls")),
    path("", include("annotations.urls")),
    path("", include("datasets.urls")),
    path("", include("moderation.urls")),
    path("accounts/", include("contributors.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("v1/report/<str:image_id>", v1.Report.as_view(), name="v1-report"),
    path("v1/", include("datasets.v1.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
