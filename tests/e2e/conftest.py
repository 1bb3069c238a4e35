"""The real stack for browser tests: an ASGI server and a worker cluster on the test database.

Both are started by the test session on free local ports and stopped at its end. Pages are
driven by Playwright in Debian's Chromium; nothing is downloaded at run time.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.receivers import HttpReceiver, SmtpReceiver, free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's sync API runs an event loop in this thread; the ORM calls that set up data
# between browser steps are plain synchronous calls all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Stack:
    url: str
    env: dict
    processes: dict
    logs: Path

    def start_web(self) -> None:
        port = self.url.rsplit(":", 1)[1]
        self.processes["web"] = spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "eventplatform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            self.env,
            self.logs / "web.log",
        )
        wait_until_serving(self.url + "/healthz")

    def stop_web(self) -> None:
        stop(self.processes.pop("web"))

    def restart_web(self) -> None:
        self.stop_web()
        self.start_web()


def spawn(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_serving(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


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
def stack(django_db_setup, django_db_blocker, smtp_receiver, crm_receiver, tmp_path_factory):
    """uvicorn and qcluster on the test database and this session's Redis namespace."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EVENTPLATFORM_NAMESPACE": settings.NAMESPACE,
        "SECRET_KEY": "e2e-secret-key",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": url,
        "EMAIL_URL": smtp_receiver.url,
        "CRM_WEBHOOK_URL": crm_receiver.url,
        "CRM_WEBHOOK_SECRET": "whsec_" + "ZTJlLXNlY3JldC1mb3ItY3JtLXdlYmhvb2tz",
        "SLACK_WEBHOOK_URL": "",
        "Q_WORKERS": "2",
    }
    logs = tmp_path_factory.mktemp("stack")
    running = Stack(url=url, env=env, processes={}, logs=logs)
    running.processes["worker"] = spawn(
        [sys.executable, "manage.py", "qcluster"], env, logs / "worker.log"
    )
    try:
        running.start_web()
        yield running
    finally:
        for process in running.processes.values():
            stop(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

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
    """The demo users (password "demo"), committed so that the servers see them."""
    from eventplatform.events.management.commands.seed_demo import seed_users

    return seed_users()


@pytest.fixture
def login(browser, stack, demo):
    """``login(username)`` opens a browser context logged in as that user; closed afterwards."""
    contexts = []

    def open_as(username: str, password: str = "demo"):
        context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 860})
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


def screenshot(page, name: str) -> None:
    """Save the key moment of a scenario for the README (PNG, viewport only, kept small)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
