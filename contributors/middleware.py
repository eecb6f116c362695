from .identity import contributor_of_request


class ContributorMiddleware:
    """Sets `request.contributor`: the contributor behind the request, or None before any write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.contributor = contributor_of_request(request)
        return self.get_response(request)
