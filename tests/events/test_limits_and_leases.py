"""A running delivery keeps its claim while it runs; its time limit and the queue's compose."""

import signal
import time

import psycopg
import pytest
from django.db import connection
from django_q.timeout import TimeoutHandler

from eventplatform.events.delivery import claim, execute
from eventplatform.events.models import Delivery
from eventplatform.events.outbox import publish
from eventplatform.events.reconciler import reconcile
from tests.events.sample import WIDGET_ORDERED

Status = Delivery.Status


def publish_order(capture) -> Delivery:
    with capture(execute=False):
        event = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 2})
    return Delivery.objects.get(event=event)


@pytest.mark.django_db(transaction=True)
def test_a_handler_running_past_its_lease_keeps_the_delivery(
    handlers, settings, django_capture_on_commit_callbacks
):
    settings.EVENTS = {**settings.EVENTS, "LEASE": 0.3}
    seen_by_others = []

    def slow(event):
        time.sleep(1.2)  # four leases
        mine = Delivery.objects.get(event=event)
        seen_by_others.append((claim(mine.pk), reconcile()["lease_expired"]))

    handlers.add(WIDGET_ORDERED, slow)
    delivery = publish_order(django_capture_on_commit_callbacks)

    assert execute(delivery.pk) == Status.SUCCEEDED
    assert seen_by_others == [(None, 0)], "no other worker could claim it while it ran"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1)


@pytest.mark.django_db
def test_a_handler_limit_leaves_the_queue_timeout_armed(
    handlers, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, lambda event: None, time_limit=0.2)
    delivery = publish_order(django_capture_on_commit_callbacks)

    with TimeoutHandler(5):  # what a django-q2 worker arms around each task
        assert execute(delivery.pk) == Status.SUCCEEDED
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 4 < remaining <= 5, "the queue's alarm still runs, less the time spent"


@pytest.mark.django_db
def test_the_queue_timeout_interrupts_a_handler_with_a_longer_limit(
    handlers, django_capture_on_commit_callbacks
):
    def hang(event):
        time.sleep(10)

    handlers.add(WIDGET_ORDERED, hang, time_limit=30)
    delivery = publish_order(django_capture_on_commit_callbacks)

    with TimeoutHandler(1):
        assert execute(delivery.pk) == Status.FAILED
    delivery.refresh_from_db()
    assert "the task queue's timeout" in delivery.last_error
    assert delivery.duration_ms < 5000


@pytest.mark.django_db(transaction=True)
def test_an_attempt_is_recorded_when_the_database_dropped_the_connection_meanwhile(
    handlers, django_capture_on_commit_callbacks
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite is a file, it has no connection to drop")

    def outlive_the_connection(event):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            [pid] = cursor.fetchone()
        with psycopg.connect(**connection.get_connection_params()) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    handlers.add(WIDGET_ORDERED, outlive_the_connection)
    delivery = publish_order(django_capture_on_commit_callbacks)

    assert execute(delivery.pk) == Status.SUCCEEDED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1), "not left to re-run"
