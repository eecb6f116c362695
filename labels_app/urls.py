from django.urls import path

from . import views

urlpatterns = [
    path("label/", views.LabelView.as_view(), name="label"),
]
