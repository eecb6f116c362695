"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Playwright cannot download its own browser here, so the system Chromium is launched by path
(override with CHROMIUM_PATH). Without it the tests skip with a reason, unless E2E_REQUIRED=1
(as in CI), where a missing browser is a failure.
"""

import contextlib
import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; without this Django refuses
# ORM calls made from the test body ("You cannot call this from an async context").
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = E2E_DIR.parents[1] / "test-artifacts"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 10_000
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    chromium_path = os.environ.get("CHROMIUM_PATH", DEFAULT_CHROMIUM)
    if not os.access(chromium_path, os.X_OK):
        message = (
            f"Debian's Chromium is not installed at {chromium_path} (apt-get install chromium)"
        )
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"E2E_REQUIRED=1 but {message}", pytrace=False)
        pytest.skip(message)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server, transactional_db, request):
    """Opens pages in fresh browser contexts (separate cookies), closed after the test.

    A failed test leaves a screenshot of every page it opened in test-artifacts/.
    """
    contexts = []

    def open_page(**context_options):
        options = {"viewport": {"width": 1280, "height": 800}, **context_options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page

    from playwright.sync_api import Error as PlaywrightError

    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    for number, context in enumerate(contexts):
        if failed:
            ARTIFACTS_DIR.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
            for page_number, page in enumerate(context.pages):
                path = ARTIFACTS_DIR / f"{name}-{number}-{page_number}.png"
                with contextlib.suppress(PlaywrightError):
                    page.screenshot(path=str(path), full_page=True)
        context.close()


@pytest.fixture
def page(new_page):
    """A desktop-sized page in its own browser context; relative URLs go to the live server."""
    return new_page()


@pytest.fixture
def phone_page(new_page):
    """A phone-sized touch page in its own browser context."""
    return new_page(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
