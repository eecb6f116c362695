import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contributors.models import Contributor
from donations.models import Image, ImageStatus
from tests import image_files
from tests.factories import ContributorFactory, ImageFactory, ModeratorFactory

pytestmark = pytest.mark.django_db


def jpeg_upload(name: str = "photo.jpg", seed: int = 61, data: bytes | None = None):
    return SimpleUploadedFile(name, data or image_files.jpeg(seed=seed), content_type="image/jpeg")


def as_donor(client, contributor):
    """Make the test client's session belong to an anonymous contributor."""
    session = client.session
    session["contributor_id"] = contributor.pk
    session.save()


def test_donate_form_accepts_several_photos_and_lists_each_result(client, stored_files):
    response = client.post(
        "/donate/",
        {
            "files": [
                jpeg_upload("one.jpg", seed=62),
                jpeg_upload("two.jpg", seed=63),
                jpeg_upload("fake.jpg", data=image_files.NOT_AN_IMAGE),
            ],
            "cc0": "on",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert Image.objects.filter(status=ImageStatus.PENDING).count() == 2
    assert html.count("Received — pending review.") == 2
    assert "fake.jpg" in html
    assert "This is not a supported image" in html
    assert len(stored_files()) == 6


def test_donate_form_without_cc0_shows_a_message_and_stores_nothing(client, stored_files):
    response = client.post("/donate/", {"files": [jpeg_upload()]})

    assert response.status_code == 200
    assert "Please confirm the CC0 public-domain dedication" in response.content.decode()
    assert Image.objects.count() == 0
    assert Contributor.objects.count() == 0
    assert stored_files() == []


def test_donate_form_without_files_asks_for_a_photo(client):
    response = client.post("/donate/", {"cc0": "on"})

    assert "Choose at least one photo to donate." in response.content.decode()
    assert Image.objects.count() == 0


def test_donate_form_reports_a_duplicate_with_a_link_when_visible(client):
    data = image_files.jpeg(seed=64)
    client.post("/donate/", {"files": [jpeg_upload(data=data)], "cc0": "on"})
    existing = Image.objects.get()

    response = client.post("/donate/", {"files": [jpeg_upload(data=data)], "cc0": "on"})

    html = response.content.decode()
    assert "This photo is already in the dataset" in html
    assert existing.get_absolute_url() in html
    assert Image.objects.count() == 1


def test_donate_form_refuses_a_cross_site_post_from_an_anonymous_visitor(stored_files):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/donate/", {"files": [jpeg_upload()], "cc0": "on"})

    assert response.status_code == 403
    assert "security token is missing or expired" in response.content.decode()
    assert Image.objects.count() == 0
    assert stored_files() == []


def test_page_views_create_no_contributor(client):
    for url in ("/", "/donate/", "/images/", "/images/mine/", "/accounts/login/"):
        assert client.get(url).status_code == 200
    assert Contributor.objects.count() == 0


def test_home_page_shows_live_totals(client):
    ImageFactory(status=ImageStatus.UNLOCKED)
    ImageFactory(status=ImageStatus.PENDING)

    html = client.get("/").content.decode()

    assert re.search(r'data-total="images">1<', html)
    assert re.search(r'data-total="pending">1<', html)
    assert 'data-ws-path="/ws/totals/"' in html


def test_home_page_introduction_links_the_tasks_that_exist(client):
    html = client.get("/").content.decode()
    lead = html[html.index('<p class="lead">') : html.index("</p>", html.index('class="lead"'))]

    assert "soon" not in lead
    for path in ("/donate/", "/label/", "/annotate/", "/validate/"):
        assert f'href="{path}"' in lead


def test_gallery_shows_only_unlocked_images(client):
    unlocked = ImageFactory(status=ImageStatus.UNLOCKED)
    pending = ImageFactory()

    html = client.get("/images/").content.decode()

    assert unlocked.get_absolute_url() in html
    assert pending.get_absolute_url() not in html


def test_gallery_pages_newest_first_without_offsets(client, monkeypatch):
    monkeypatch.setattr("donations.views.PAGE_SIZE", 2)
    images = [ImageFactory(status=ImageStatus.UNLOCKED) for _ in range(3)]

    first = client.get("/images/")
    older = first.context["page"].older
    second = client.get("/images/", {"before": older})
    back = client.get("/images/", {"after": second.context["page"].newer})

    assert first.context["page"].items == [images[2], images[1]]
    assert second.context["page"].items == [images[0]]
    assert second.context["page"].older is None
    assert back.context["page"].items == [images[2], images[1]]


def test_gallery_ignores_a_malformed_cursor(client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    response = client.get("/images/", {"before": "<script>"})

    assert response.status_code == 200
    assert response.context["page"].items == [image]


def test_pending_image_page_is_shown_to_its_donor_with_a_banner(client):
    donor = ContributorFactory()
    image = ImageFactory(donor=donor)
    as_donor(client, donor)

    response = client.get(image.get_absolute_url())

    assert response.status_code == 200
    assert "Pending review: only you" in response.content.decode()


def test_pending_image_and_its_files_are_hidden_from_everyone_else(client):
    image = ImageFactory()

    assert client.get(image.get_absolute_url()).status_code == 404
    for variant in ("full", "large", "small"):
        assert client.get(image.file_url(variant)).status_code == 404


def test_moderator_sees_pending_image_and_files(client):
    image = ImageFactory()
    client.force_login(ModeratorFactory())

    assert client.get(image.get_absolute_url()).status_code == 200
    assert client.get(image.file_url("full")).status_code == 200


def test_unlocked_image_page_has_cc0_notice_and_download(client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    html = client.get(image.get_absolute_url()).content.decode()
    download = client.get(image.file_url("full"), {"download": "1"})

    assert "Public domain (CC0 1.0)" in html
    assert f"{image.file_url('full')}?download=1" in html
    assert download.status_code == 200
    assert download["Content-Type"] == "image/jpeg"
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == image.file.open("rb").read()
    assert "public" in download["Cache-Control"]


def test_thumbnails_are_served_as_webp(client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    response = client.get(image.file_url("small"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"


def test_unknown_file_variant_is_a_404(client):
    image = ImageFactory(status=ImageStatus.UNLOCKED)

    assert client.get(f"/images/{image.pk}/file/original").status_code == 404


def test_my_donations_lists_the_donors_pending_and_unlocked_images(client):
    donor = ContributorFactory()
    pending = ImageFactory(donor=donor)
    unlocked = ImageFactory(donor=donor, status=ImageStatus.UNLOCKED)
    someone_elses = ImageFactory()
    as_donor(client, donor)

    html = client.get("/images/mine/").content.decode()

    assert pending.get_absolute_url() in html
    assert unlocked.get_absolute_url() in html
    assert someone_elses.get_absolute_url() not in html
    assert "Pending review" in html


@pytest.mark.parametrize("url", ["/", "/donate/", "/images/", "/accounts/login/", "/api/docs/"])
def test_pages_send_a_csp_without_inline_scripts(client, url):
    response = client.get(url)

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.content.decode())
    assert inline_scripts == []


def test_user_text_is_escaped_in_upload_results(client):
    name = '<img src=x onerror="alert(1)">.jpg'

    response = client.post(
        "/donate/", {"files": [jpeg_upload(name, data=image_files.NOT_AN_IMAGE)], "cc0": "on"}
    )

    html = response.content.decode()
    assert 'onerror="alert(1)"' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.jpg" in html
