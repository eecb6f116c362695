from django.urls import path

from . import views

urlpatterns = [
    path("donate/", views.DonateView.as_view(), name="donate"),
    path("images/", views.GalleryView.as_view(), name="gallery"),
    path("images/mine/", views.MyDonationsView.as_view(), name="my-donations"),
    path("images/<uuid:pk>/", views.ImageDetailView.as_view(), name="image-detail"),
    path("images/<uuid:pk>/file/<slug:variant>", views.ImageFileView.as_view(), name="image-file"),
]
