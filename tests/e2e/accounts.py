"""Signing a browser in for page tests: through the log-in form, as a person would."""

import re

from playwright.sync_api import expect

from .conftest import PASSWORD


def sign_in(page, username: str, *, admin: bool = False) -> None:
    """Log in with the factories' password through the site's (or the admin's) log-in page."""
    page.goto("/admin/login/" if admin else "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$" if admin else r"/accounts/profile/$"))
