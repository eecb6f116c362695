"""A first-time visitor's parallel uploads end under one contributor, in a real browser."""

import re

from playwright.sync_api import expect

from contributors.models import Contributor
from donations.models import Image
from tests import image_files

from .test_donation_flow import donate, file_payload


def test_first_visit_uploads_sent_at_once_all_show_in_my_donations(page):
    # The donate page sends two files at a time; neither request has a session cookie yet.
    page.goto("/donate/")
    photos = [
        file_payload(f"photo-{seed}.jpg", image_files.jpeg(320, 240, seed)) for seed in (1, 2, 3, 4)
    ]
    donate(page, *photos)

    results = page.locator("#upload-list .upload-item")
    expect(results).to_have_count(4)
    for index in range(4):
        expect(results.nth(index)).to_have_class(re.compile(r"\bupload-ok\b"))

    assert Image.objects.count() == 4
    assert Image.objects.values("donor").distinct().count() == 1
    assert Contributor.objects.count() == 1

    page.goto("/images/mine/")
    for image in Image.objects.all():
        expect(page.locator(f'a[href="/images/{image.pk}/"]')).to_have_count(1)
