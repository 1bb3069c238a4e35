"""The real stack for browser tests: an ASGI server and a worker cluster on the test database.

Both are started by the test session on free local ports and stopped at its end. Pages are
driven by Playwright in Debian's Chromium; nothing is downloaded at run time.
"""

import os

import pytest

from tests.e2e.accessibility import DESKTOP
from tests.receivers import HttpReceiver, SmtpReceiver, free_port
from tests.stack import ROOT, Processes, stack_env

CRM_SECRET = "whsec_" + "ZTJlLXNlY3JldC1mb3ItY3JtLXdlYmhvb2tz"
# The support address mail is written to; the stack's processes and the tests agree on it.
SUPPORT_ADDRESS = "support@example.com"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def smtp_receiver():
    server = SmtpReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def crm_receiver():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def slack_receiver():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def stack(django_db_setup, smtp_receiver, crm_receiver, slack_receiver, tmp_path_factory):
    """One ASGI server ("web"), a supervised worker cluster and the scheduler on the test
    database, as the Procfile runs them."""
    port = free_port()
    processes = Processes(
        stack_env(
            SITE_URL=f"http://127.0.0.1:{port}",
            EMAIL_URL=smtp_receiver.url,
            CRM_WEBHOOK_URL=crm_receiver.url,
            CRM_WEBHOOK_SECRET=CRM_SECRET,
            SLACK_WEBHOOK_URL=slack_receiver.url,
            # Support by email: replies to this address thread onto tickets, and the files
            # the worker stores are the ones the web process serves.
            SUPPORT_EMAIL_ADDRESS=SUPPORT_ADDRESS,
            MEDIA_ROOT=str(tmp_path_factory.mktemp("media")),
        ),
        tmp_path_factory.mktemp("stack"),
    )
    try:
        processes.start_worker("worker")
        processes.start_scheduler()
        processes.start_web("web", port)
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it; its absence is a broken build
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls that set up data
    # between browser steps are plain synchronous calls all the same. Browser tests run last,
    # so no other test loses Django's check.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose dialogs and script errors are recorded: hostile input must cause neither."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))


@pytest.fixture
def demo(transactional_db):
    """The demo data (password "demo"), committed so that the servers see it."""
    from eventplatform.demo.management.commands.seed_demo import seed

    return seed()


@pytest.fixture
def login(browser, stack, demo):
    """``login(username)`` opens a browser context logged in as that user; closed afterwards.

    ``viewport`` defaults to a desktop window; pass ``PHONE`` for a phone.
    """
    contexts = []

    def open_as(username: str, password: str = "demo", viewport: dict = DESKTOP):
        context = browser.new_context(base_url=stack.urls["web"], viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watched = Watched(page)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()
        return watched

    yield open_as
    for context in contexts:
        context.close()


def user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def screenshot(page, name: str) -> None:
    """Save the key moment of a scenario for the README (PNG, viewport only, kept small)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
