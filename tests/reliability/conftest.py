"""The platform as processes, for fault tests: a web server, a supervised worker cluster and
the scheduler on the test database, with a real SMTP server and a real CRM endpoint.

Each fault test kills or starves something and then counts, at the receivers, what arrived:
every reaction, how many twice, and how long recovery took. The figures of a run are printed
at its end and recorded in docs/reliability.md.
"""

import time
from collections import Counter

import httpx
import pytest
from rest_framework.authtoken.models import Token

from eventplatform.events.models import Delivery
from eventplatform.events.queue import broker
from eventplatform.events.scheduler import lock_name
from eventplatform.events.supervisor import heartbeats_key
from tests.factories import UserFactory
from tests.receivers import HttpReceiver, SmtpReceiver
from tests.stack import STACK_METRICS_TOKEN, Processes, stack_env, wait_for

CRM_SECRET = "whsec_" + "cmVsaWFiaWxpdHktY3JtLXNlY3JldC0zMi1ieXRlcw=="


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/reliability/" in str(item.path):
            item.add_marker(pytest.mark.reliability)


class Platform:
    """Drives the running platform from outside, as an API client and its receivers see it."""

    def __init__(
        self, processes: Processes, mailbox: SmtpReceiver, crm: HttpReceiver, web: str = "web"
    ):
        self.processes = processes
        self.web = web
        self.mailbox = mailbox
        self.crm = crm
        customer = UserFactory(username="customer")
        self.token = Token.objects.create(user=customer).key

    @property
    def url(self) -> str:
        return self.processes.urls[self.web]

    def ready(self) -> httpx.Response:
        return httpx.get(
            self.url + "/readyz",
            timeout=5,
            headers={"Authorization": f"Bearer {STACK_METRICS_TOKEN}"},
        )

    def wait_until_ready(self, timeout: float) -> None:
        def ready():
            """/readyz answers 200"""
            return self.ready().status_code == 200

        wait_for(ready, timeout=timeout)

    def post_tickets(self, count: int, prefix: str = "Ticket", via: str | None = None) -> list[int]:
        """Create tickets through the API (of web process ``via``); return their ids."""
        ids = []
        with httpx.Client(
            base_url=self.processes.urls[via or self.web],
            headers={"Authorization": f"Token {self.token}"},
            timeout=30,
        ) as client:
            for n in range(count):
                response = client.post(
                    "/api/v1/tickets/", json={"subject": f"{prefix} {n}", "body": "Help"}
                )
                if response.status_code == 201:
                    ids.append(response.json()["id"])
        return ids

    def acknowledged(self) -> Counter:
        """Acknowledgement emails received, by subject."""
        return Counter(str(m["subject"]) for m in self.mailbox.messages)

    def crm_updates(self) -> Counter:
        """CRM requests received, by webhook-id (one id per delivery; repeats are duplicates)."""
        return Counter(r.headers["webhook-id"] for r in self.crm.requests)

    def wait_until_every_reaction_arrived(self, tickets: list[int], timeout: float = 30):
        """Every ticket's acknowledgement and CRM update arrived and nothing is left to run."""

        def arrived():
            """every reaction of every ticket arrived"""
            acknowledged = sum(1 for m in self.mailbox.messages if "received" in str(m["subject"]))
            unfinished = Delivery.objects.exclude(status__in=["succeeded", "skipped"])
            return (
                acknowledged >= len(tickets)
                and len(self.crm_updates()) >= len(tickets)
                and not unfinished.exists()
            )

        wait_for(arrived, timeout=timeout, interval=0.1)
        return time.monotonic()

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.crm_updates().values())


@pytest.fixture
def mailbox():
    server = SmtpReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def crm():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def stack_settings(mailbox, crm) -> dict[str, str]:
    return {
        "EMAIL_URL": mailbox.url,
        "CRM_WEBHOOK_URL": crm.url,
        "CRM_WEBHOOK_SECRET": CRM_SECRET,
        "RETRY_SCHEDULE": "1,1,1",
    }


@pytest.fixture
def platform(django_db_setup, task_queue, tmp_path, stack_settings, mailbox, crm, settings):
    """Web, supervised workers and scheduler on an empty queue, ready when the test starts.

    What the test itself publishes sees the same reactions configured as the stack."""
    settings.CRM_WEBHOOK_URL, settings.CRM_WEBHOOK_SECRET = crm.url, CRM_SECRET
    # A killed stack's scheduler lock and heartbeat outlive it by seconds: the readiness this
    # stack waits for must be its own.
    broker().connection.delete(lock_name(), heartbeats_key())
    processes = Processes(stack_env(**stack_settings), tmp_path)
    try:
        processes.start_worker("worker")
        processes.start_scheduler()
        processes.start_web("web")
        platform = Platform(processes, mailbox, crm)
        platform.wait_until_ready(timeout=30)
        yield platform
    finally:
        processes.stop_all()
