from django.urls import path

from . import views

urlpatterns = [
    path("validate/", views.ValidateView.as_view(), name="validate"),
    path("validate/grid/", views.ValidateGridView.as_view(), name="validate-grid"),
]
