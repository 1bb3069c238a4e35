"""Two worker clusters share one queue: every reaction runs, and runs once."""

import pytest
from django.contrib.auth import get_user_model

from eventplatform.events.models import Delivery
from support.services import ticket_create
from tests.stack import Processes, stack_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_clusters(django_db_setup, tmp_path, mailbox):
    processes = Processes(stack_env(Q_WORKERS="2", EMAIL_URL=mailbox.url), tmp_path)
    try:
        processes.start_worker("cluster-a")
        processes.start_worker("cluster-b")
        yield processes
    finally:
        processes.stop_all()


def test_every_delivery_of_a_burst_runs_exactly_once(two_clusters, mailbox, task_queue):
    # task_queue: the shared queue starts empty.
    customer = get_user_model().objects.create_user("customer", "customer@example.com")
    for n in range(20):
        ticket_create(customer=customer, subject=f"Burst ticket {n}", body="Hello")

    def all_finished():
        """every delivery of the burst (and of the events it caused) finished"""
        deliveries = Delivery.objects.all()
        unfinished = deliveries.exclude(status__in=["succeeded", "skipped"])
        return deliveries.count() >= 20 * 4 and not unfinished.exists()

    wait_for(all_finished, timeout=60)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    subjects = sorted(str(m["subject"]) for m in mailbox.messages)
    assert len(subjects) == 20, "one acknowledgement per ticket: none lost, none twice"
    assert len(set(subjects)) == 20
