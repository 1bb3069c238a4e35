"""The reconciler recovers deliveries the normal path lost, in each of four ways."""

import contextlib
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from eventplatform.events import supervisor
from eventplatform.events.delivery import claim
from eventplatform.events.models import Delivery
from eventplatform.events.outbox import publish
from eventplatform.events.queue import broker
from eventplatform.events.reconciler import reconcile
from eventplatform.events.scheduler import IDLE_LOOK, Scheduler
from tests.events.sample import WIDGET_ORDERED
from tests.stack import wait_for

pytestmark = pytest.mark.django_db
Status = Delivery.Status
delivered: list[int] = []


def ship_order(event):
    delivered.append(event.data.order_id)


@pytest.fixture(autouse=True)
def shipping(handlers):
    delivered.clear()
    handlers.add(WIDGET_ORDERED, ship_order)


def test_a_delivery_never_enqueued_because_the_process_died_after_commit(task_queue):
    # The commit happens but its on_commit callbacks never run, as when the process dies.
    with transaction.atomic():
        publish(WIDGET_ORDERED, {"order_id": 4, "customer_id": 1})
    assert len(task_queue) == 0
    delivery = Delivery.objects.get()

    assert reconcile()["never_enqueued"] == 0, "a fresh delivery gets its grace period"
    assert reconcile(now=timezone.now() + timedelta(minutes=1))["never_enqueued"] == 1
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivered) == (Status.SUCCEEDED, [4])


def test_a_delivery_whose_worker_was_killed_mid_task(
    task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 5, "customer_id": 1})
    task_queue.purge()  # the worker took the task off the queue...
    delivery = claim(Delivery.objects.get().pk)  # ...claimed it, and was killed.
    assert delivery.status == Status.RUNNING

    assert reconcile()["lease_expired"] == 0, "the lease still holds"
    later = delivery.lease_expires_at + timedelta(seconds=1)
    assert reconcile(now=later)["lease_expired"] == 1
    assert reconcile(now=later)["lease_expired"] == 0, "enqueued once, not every run"
    # The lease has expired in real time too by the time a worker picks the task up.
    Delivery.objects.filter(pk=delivery.pk).update(lease_expires_at=timezone.now())
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivered) == (Status.SUCCEEDED, 2, [5])


@pytest.fixture
def replaced_cluster(monkeypatch):
    """A worker cluster that a supervisor has killed and replaced."""
    monkeypatch.setenv(supervisor.CLUSTER_ID_VARIABLE, "killed-cluster")
    yield lambda: supervisor.broker().connection.zadd(
        supervisor.replaced_key(), {"killed-cluster": timezone.now().timestamp()}
    )
    supervisor.broker().connection.delete(supervisor.replaced_key())


def test_a_delivery_held_by_a_killed_cluster_is_freed_without_waiting_for_its_lease(
    task_queue, django_capture_on_commit_callbacks, replaced_cluster
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 7, "customer_id": 1})
    task_queue.purge()
    delivery = claim(Delivery.objects.get().pk)
    assert delivery.claimed_by == "killed-cluster"
    assert reconcile()["lease_expired"] == 0, "its cluster may still be running it"

    replaced_cluster()
    assert reconcile()["lease_expired"] == 1
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivered) == (Status.SUCCEEDED, 2, [7])


def quiet_scheduler(task_queue) -> Scheduler:
    """An active scheduler whose last look found every delivery finished and the queue empty."""
    scheduler = Scheduler()
    scheduler.recover()  # enqueues the schedules due (the daily prune)
    task_queue.run()
    scheduler.recover()
    return scheduler


@contextlib.contextmanager
def running(scheduler: Scheduler):
    """The scheduler's loop on a thread of its own, as ``run_scheduler`` runs it, until the
    block ends."""
    stopping = threading.Event()
    loop = threading.Thread(target=scheduler.run, args=(stopping,))
    loop.start()
    try:
        yield
    finally:
        stopping.set()
        loop.join()


@pytest.mark.django_db(transaction=True)  # a tick closes its connection, as it would idle
def test_an_idle_scheduler_reads_no_delivery_until_a_worker_reports_a_task(
    task_queue, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 20, "customer_id": 1})
    task_queue.run()
    scheduler = quiet_scheduler(task_queue)
    with django_assert_num_queries(0):
        assert scheduler.recover() is None, "nothing moved in Redis: no query"

    # A worker's attempt failed, and the worker reported its task finished.
    Delivery.objects.update(status=Status.FAILED, attempts=1, next_attempt_at=timezone.now())
    with django_assert_num_queries(0):
        scheduler.recover()
    broker().connection.hincrby(supervisor.all_clusters_key(), "finished", 1)
    scheduler.recover()
    task_queue.run()
    assert delivered == [20, 20], "the tick after the report enqueued the retry"


@pytest.mark.django_db(transaction=True)
def test_a_waiting_scheduler_enqueues_a_retry_as_soon_as_a_worker_reports_its_task(
    task_queue, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 22, "customer_id": 1})
    task_queue.run()
    scheduler = quiet_scheduler(task_queue)
    with running(scheduler):
        wait_for(scheduler.waits, timeout=5)
        # A worker's attempt failed, and the worker reported its task finished.
        Delivery.objects.update(status=Status.FAILED, attempts=1, next_attempt_at=timezone.now())
        monkeypatch.setenv(supervisor.CLUSTER_ID_VARIABLE, "cluster")
        supervisor.count_finished(sender="django_q")

        wait_for(lambda: len(task_queue), timeout=IDLE_LOOK / 2, interval=0.05)
    task_queue.run()
    assert delivered == [22, 22], "the retry ran, long before the scheduler's next look"


@pytest.mark.django_db(transaction=True)
def test_a_schedule_django_q2_leaves_due_is_looked_at_once_a_tick_not_in_a_spin(task_queue):
    # One for another cluster, say: django-q2 does not run it, and it stays due.
    Schedule.objects.create(
        func="math.floor", args="1", next_run=timezone.now(), cluster="another", repeats=-1
    )
    scheduler = quiet_scheduler(task_queue)
    run_due = mock.patch("eventplatform.events.scheduler.run_due_schedules")
    with run_due as run_due_schedules, running(scheduler):
        time.sleep(2 * scheduler.tick)
    assert 1 <= run_due_schedules.call_count <= 3


@pytest.mark.django_db(transaction=True)
def test_an_idle_scheduler_still_finds_a_commit_whose_process_died_before_enqueueing(task_queue):
    scheduler = quiet_scheduler(task_queue)
    # The commit happens; the enqueue after it never runs, as when the process dies between.
    with mock.patch("eventplatform.events.outbox.dispatch"):
        publish(WIDGET_ORDERED, {"order_id": 21, "customer_id": 1})

    scheduler.recover()
    assert len(task_queue) == 0, "nothing in Redis showed it"
    with time_machine.travel(timedelta(seconds=IDLE_LOOK)):
        scheduler.recover()
    task_queue.run()
    assert delivered == [21], "the next look, IDLE_LOOK later, enqueued it"


def test_a_failed_delivery_due_for_retry(task_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 6, "customer_id": 1})
    task_queue.purge()
    delivery = Delivery.objects.get()
    due = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Status.FAILED, attempts=1, next_attempt_at=due, last_error="ConnectionError"
    )

    assert reconcile(now=due - timedelta(seconds=1))["retry_due"] == 0
    assert reconcile(now=due)["retry_due"] == 1
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivered) == (Status.SUCCEEDED, 2, [6])


def test_a_due_retry_goes_ahead_of_the_new_work_waiting_in_the_queue(
    task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 10, "customer_id": 1})
    task_queue.purge()
    Delivery.objects.update(status=Status.FAILED, attempts=1, next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        for order in (11, 12):
            publish(WIDGET_ORDERED, {"order_id": order, "customer_id": 1})

    assert reconcile()["retry_due"] == 1
    task_queue.run()
    assert delivered == [10, 11, 12], "the retry has waited already: it runs first"


def test_a_task_that_left_the_queue_and_never_started_is_enqueued_again(
    task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 8, "customer_id": 1})
    task_queue.purge()  # a cluster pulled the task and was killed, or Redis restarted empty

    soon = timezone.now() + timedelta(seconds=5)
    counts = reconcile(now=soon)
    assert counts["never_enqueued"] == 0, "it was sent: the queue has only lost it"
    assert counts["lost_in_transit"] == 0, "it may be on its way to a worker"
    later = timezone.now() + timedelta(seconds=11)
    assert reconcile(now=later)["lost_in_transit"] == 1
    assert reconcile(now=later)["lost_in_transit"] == 0, "enqueued again once"
    task_queue.run()
    assert delivered == [8]


def test_a_task_waiting_in_a_long_queue_is_not_enqueued_twice(
    task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 9, "customer_id": 1})

    assert reconcile(now=timezone.now() + timedelta(minutes=5))["lost_in_transit"] == 0
    assert len(task_queue) == 1
    task_queue.run()
    assert delivered == [9]


def test_a_task_pulled_from_a_long_queue_between_two_looks_is_enqueued_again(
    task_queue, django_capture_on_commit_callbacks
):
    for order_id in (10, 11):
        with django_capture_on_commit_callbacks(execute=True):
            publish(WIDGET_ORDERED, {"order_id": order_id, "customer_id": 1})
    later = timezone.now() + timedelta(minutes=5)
    assert reconcile(now=later)["lost_in_transit"] == 0, "both wait in the queue"

    task_queue.broker.dequeue()  # a cluster pulled the first and was killed
    assert reconcile(now=later)["lost_in_transit"] == 1
    assert len(task_queue) == 2
    task_queue.run()
    assert sorted(delivered) == [10, 11]
