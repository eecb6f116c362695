from django.urls import path, re_path

from . import views

UUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    path("annotations/", views.AnnotationCollection.as_view(), name="api-annotations"),
    path("annotations/<id:pk>/", views.AnnotationDetail.as_view(), name="api-annotation-detail"),
    path("annotations/next/", views.NextAnnotationTask.as_view(), name="api-annotation-next"),
    path("annotations/review/next/", views.NextReview.as_view(), name="api-annotation-review"),
    path("annotation-votes/", views.AnnotationVoteCreate.as_view(), name="api-annotation-vote"),
    path("annotations/leases/", views.LeaseForImage.as_view(), name="api-annotation-lease-for"),
    path("refinements/next/", views.NextRefinementQuestion.as_view(), name="api-refinement-next"),
    path(
        "refinements/answers/", views.RefinementAnswerCreate.as_view(), name="api-refinement-answer"
    ),
    path(
        "annotations/leases/<uuid:pk>/renew/",
        views.LeaseRenew.as_view(),
        name="api-annotation-lease-renew",
    ),
    re_path(
        rf"^annotations/leases/(?P<pk>{UUID_PATTERN})/(?P<kind>(?:{views.RELEASE_KINDS}))/$",
        views.LeaseRelease.as_view(),
        name="api-annotation-lease-release",
    ),
]
