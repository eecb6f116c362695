"""The ImageMonkey-compatible API under /v1/ (the original's paths, without trailing slashes);
`/v1/report/{uuid}` joins moderation in and is routed by imagemonkey_site."""

from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from . import accounts, donations, exports, labels, validations
from .wire import CORS_HEADERS


@csrf_exempt  # it changes nothing; a POST to an unknown route is a 404, not a CSRF refusal
def not_found(request, rest=""):
    """gin's answers for what no route takes: a redirect without the trailing slash when that
    is a route, else 404 `404 page not found` (text/plain)."""
    if request.path.endswith("/") and request.path != "/v1/":
        try:
            match = resolve(request.path.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            target = request.path.rstrip("/")
            if request.META.get("QUERY_STRING"):
                target += "?" + request.META["QUERY_STRING"]
            response = HttpResponsePermanentRedirect(target)
            if request.method != "GET":
                response.status_code = 307
            return response
    response = HttpResponse("404 page not found", status=404, content_type="text/plain")
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


urlpatterns = [
    path("donate", donations.Donate.as_view(), name="v1-donate"),
    path("donation/<str:image_id>", donations.DonationFile.as_view(), name="v1-donation"),
    path("images/<str:image_id>/details", donations.ImageDetails.as_view(), name="v1-details"),
    path("label", labels.LabelList.as_view(), name="v1-labels"),
    path("label/accessors", labels.LabelAccessors.as_view(), name="v1-label-accessors"),
    path("label/plurals", labels.LabelPlurals.as_view(), name="v1-label-plurals"),
    path("label/refinements", labels.LabelRefinements.as_view(), name="v1-label-refinements"),
    path("label/popular", labels.LabelPopular.as_view(), name="v1-label-popular"),
    path("label/suggestions", labels.LabelSuggestions.as_view(), name="v1-label-suggestions"),
    path("labelme", labels.LabelMe.as_view(), name="v1-labelme"),
    path("donation/<str:image_id>/labelme", labels.LabelMeAdd.as_view(), name="v1-labelme-add"),
    path("donation/<str:image_id>/labels", labels.ImageLabels.as_view(), name="v1-image-labels"),
    path("validation", validations.RandomValidation.as_view(), name="v1-validation"),
    path("validation/validate", validations.ValidationBatch.as_view(), name="v1-validate-batch"),
    path(
        "validation/<str:validation_id>",
        validations.ValidationDetail.as_view(),
        name="v1-validation-detail",
    ),
    path(
        "validation/<str:validation_id>/validate/<str:answer>",
        validations.ValidationVote.as_view(),
        name="v1-validation-vote",
    ),
    path("validations", validations.ValidationsByQuery.as_view(), name="v1-validations"),
    path("export", exports.Export.as_view(), name="v1-export"),
    path(
        "statistics/validations/count",
        exports.ValidationCounts.as_view(),
        name="v1-validation-counts",
    ),
    path(
        "statistics/annotations/count",
        exports.AnnotationCounts.as_view(),
        name="v1-annotation-counts",
    ),
    path("login", accounts.Login.as_view(), name="v1-login"),
    path("logout", accounts.Logout.as_view(), name="v1-logout"),
    path("signup", accounts.Signup.as_view(), name="v1-signup"),
    path("", include("datasets.v1.annotations")),
    re_path(r"^(?P<rest>.*)$", not_found),
]
