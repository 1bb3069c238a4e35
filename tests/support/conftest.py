import pytest

from support import services
from support.models import PrioritisationRule, Priority
from tests.receivers import HttpReceiver
from tests.support.deliveries import CRM_SECRET


@pytest.fixture
def crm_receiver():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def outage_rule(db):
    return PrioritisationRule.objects.create(
        name="Outages", position=10, priority=Priority.URGENT, keywords="outage\nis down"
    )


@pytest.fixture
def reactions_configured(settings, smtp_server, http_receiver, crm_receiver):
    """Email, Slack and the CRM all pointed at real local receivers."""
    settings.SLACK_WEBHOOK_URL = http_receiver.url
    settings.CRM_WEBHOOK_URL = crm_receiver.url
    settings.CRM_WEBHOOK_SECRET = CRM_SECRET
    settings.SITE_URL = "https://support.example.com"
    return {"smtp": smtp_server, "slack": http_receiver, "crm": crm_receiver}


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Submit a ticket through the service and run its on-commit work (enqueue, push)."""

    def submit(customer, subject="The dashboard is down", body="Since 9:00 nothing loads."):
        with django_capture_on_commit_callbacks(execute=True):
            return services.ticket_create(customer=customer, subject=subject, body=body)

    return submit


@pytest.fixture
def settle(task_queue, django_capture_on_commit_callbacks):
    """Run queued reactions, and the reactions to the events they publish, until none is left.

    In a ``db`` test nothing commits, so each round's on-commit enqueues are run by hand.
    """

    def settle() -> None:
        while len(task_queue):
            with django_capture_on_commit_callbacks(execute=True):
                task_queue.run()

    return settle
