"""The moderators' live dashboard in Chromium, served by two server processes: a report sent to
one process appears on the dashboard open on the other, without a reload, through the Redis
channel layer."""

import json
import os
import re
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from donations.models import ImageStatus
from tests.factories import (
    ImageFactory,
    ModeratorFactory,
    RegisteredContributorFactory,
    api_token_for,
)
from tests.servers import server_processes

from .conftest import PASSWORD, TIMEOUT_MS

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (
            os.environ.get("REDIS_URL")
            and os.environ.get("DATABASE_URL", "").startswith("postgres")
        ),
        reason="needs REDIS_URL and a PostgreSQL DATABASE_URL: two server processes share the "
        "channel layer through Redis and the rows through the database",
    ),
]


def report_through(port: int, *, image, token: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/reports/",
        data=json.dumps({"image": str(image.pk), "reason": "violence"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
        return response.status


def test_a_report_sent_to_one_process_appears_live_on_the_dashboard_of_the_other(browser):
    moderator = ModeratorFactory(is_superuser=True)
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    token = api_token_for(RegisteredContributorFactory().user)

    with server_processes(2, CHANNEL_LAYER_PREFIX=f"e2e-{uuid.uuid4().hex}") as ports:
        context = browser.new_context(base_url=f"http://127.0.0.1:{ports[0]}")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            page.goto("/admin/login/")
            page.get_by_label("Username").fill(moderator.username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto("/admin/moderation/reportcase/dashboard/")
            expect(page.locator("#dashboard-live")).to_have_text(re.compile("^Live"))
            expect(page.locator('[data-count="open_reports"]')).to_have_text("0")

            assert report_through(ports[1], image=image, token=token) == 201

            expect(page.locator("#dashboard-report-list")).to_contain_text(str(image.pk))
            expect(page.locator('[data-count="open_reports"]')).to_have_text("1")
        finally:
            context.close()
