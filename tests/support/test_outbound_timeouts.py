"""A receiver that accepts and never answers fails the attempt on the call's own timeout,
well inside the handler's time limit, instead of holding a worker for all of it."""

import runpy

import pytest
from django.conf import settings as django_settings

from eventplatform.events.conf import event_setting
from eventplatform.events.models import Delivery
from tests.receivers import SilentServer
from tests.support.deliveries import CRM_SECRET, delivery

pytestmark = pytest.mark.django_db
Status = Delivery.Status


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.stop()


@pytest.fixture
def receivers_hang(settings, silent_server):
    """Email, Slack and the CRM all pointed at a server that never answers, with 1 s timeouts."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = silent_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = settings.OUTBOUND_TIMEOUT = 1
    settings.SLACK_WEBHOOK_URL = settings.CRM_WEBHOOK_URL = silent_server.url
    settings.CRM_WEBHOOK_SECRET = CRM_SECRET


def test_reactions_to_a_silent_receiver_fail_on_their_timeout(
    receivers_hang, customer, submit, task_queue
):
    ticket = submit(customer, subject="Checkout outage")
    task_queue.run()

    handler_limit_ms = event_setting("HANDLER_TIME_LIMIT") * 1000
    for reaction in (
        "support.acknowledgement-email",
        "support.slack-new-ticket",
        "support.crm-update",
    ):
        attempt = delivery(ticket, reaction)
        assert attempt.status == Status.FAILED, reaction
        assert "timed out" in attempt.last_error, (reaction, attempt.last_error)
        assert attempt.duration_ms < handler_limit_ms, reaction
    assert delivery(ticket, "support.prioritisation").status == Status.SUCCEEDED


@pytest.mark.parametrize(
    "url, timeout",
    [
        ("smtp://127.0.0.1:1025", None),
        ("submission://user:secret@smtp.example.com:587", None),
        ("smtp://127.0.0.1:1025?timeout=3", 3),
    ],
)
def test_email_gives_up_before_the_handler_limit_whatever_the_url(monkeypatch, url, timeout):
    monkeypatch.setenv("EMAIL_URL", url)
    configured = runpy.run_path(django_settings.BASE_DIR / "eventplatform" / "settings.py")
    assert configured["EMAIL_TIMEOUT"] == (timeout or configured["OUTBOUND_TIMEOUT"])
    assert configured["EMAIL_TIMEOUT"] < event_setting("HANDLER_TIME_LIMIT")
