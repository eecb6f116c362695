from django.urls import path

from . import views

urlpatterns = [
    path("images/", views.ImageList.as_view(), name="api-image-list"),
    path("images/<uuid:pk>/", views.ImageDetail.as_view(), name="api-image-detail"),
    path("donations/", views.DonationCreate.as_view(), name="api-donation-create"),
]
