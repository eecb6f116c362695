"""What a browser does around a request: fetch a page for the CSRF cookie, then send the token."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests import image_files

PASSWORD = "correct horse battery staple"


def csrf_token(client: Client) -> str:
    """The token a page would embed; fetches the donate page first when there is no cookie yet."""
    if "csrftoken" not in client.cookies:
        assert client.get("/donate/").status_code == 200
    return client.cookies["csrftoken"].value


def post_form(client: Client, path: str, data: dict):
    """Submit a page's form the way a browser does, with the CSRF token from the cookie."""
    return client.post(path, {**data, "csrfmiddlewaretoken": csrf_token(client)})


def photo_upload(seed: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        f"photo-{seed}.jpg", image_files.jpeg(160, 120, seed), content_type="image/jpeg"
    )


def donate(client: Client, seed: int = 1):
    """Donate one photo through the API as the donate page's script does."""
    return client.post(
        "/api/donations/",
        {"file": photo_upload(seed), "cc0": "true"},
        headers={"X-CSRFToken": csrf_token(client)},
    )
