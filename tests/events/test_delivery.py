"""Running deliveries: isolation, time limits, back-off, dead letters, idempotence."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from eventplatform.events.delivery import retry_now
from eventplatform.events.models import Delivery
from eventplatform.events.outbox import publish
from eventplatform.events.outcomes import PermanentFailure, RetryLater, Skip
from eventplatform.events.queue import enqueue_deliveries
from eventplatform.events.reconciler import reconcile
from eventplatform.events.subscriptions import RetryPolicy
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
Status = Delivery.Status
calls: list[str] = []


@pytest.fixture(autouse=True)
def clear_calls():
    calls.clear()


def confirm_order(event):
    calls.append(f"confirmed {event.data.order_id}")


def crash(event):
    raise ConnectionError("the CRM is down")


def hang(event):
    try:
        time.sleep(30)
    except Exception:  # a handler swallowing errors cannot swallow its time limit
        calls.append("swallowed")


def order_widget(capture, **payload):
    with capture(execute=True):
        return publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 2, **payload})


def delivery_of(event, func) -> Delivery:
    return Delivery.objects.get(event=event, handler__endswith=f".{func.__name__}")


def test_one_failing_and_one_hanging_handler_do_not_stop_the_others(
    handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, crash)
    handlers.add(WIDGET_ORDERED, hang, time_limit=0.5)
    handlers.add(WIDGET_ORDERED, confirm_order)
    event = order_widget(django_capture_on_commit_callbacks)

    task_queue.run()

    assert calls == ["confirmed 1"]
    confirmed = delivery_of(event, confirm_order)
    assert (confirmed.status, confirmed.attempts, confirmed.last_error) == (Status.SUCCEEDED, 1, "")
    assert confirmed.duration_ms is not None
    crashed = delivery_of(event, crash)
    assert crashed.status == Status.FAILED
    assert crashed.last_error == "ConnectionError: the CRM is down"
    assert "in crash" in crashed.traceback
    assert crashed.next_attempt_at > timezone.now()
    hung = delivery_of(event, hang)
    assert hung.status == Status.FAILED
    assert "time limit of 0.5 s" in hung.last_error
    assert hung.duration_ms < 5000


def test_failures_back_off_then_become_dead_letters(
    handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, crash, retry=RetryPolicy(delays=(30, 600), jitter=0))
    event = order_widget(django_capture_on_commit_callbacks)
    task_queue.run()
    delivery = delivery_of(event, crash)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)
    assert delivery.next_attempt_at - delivery.finished_at == timedelta(seconds=30)

    # Before it is due, neither the reconciler nor a stray task runs it again.
    assert reconcile()["retry_due"] == 0
    enqueue_deliveries([delivery.pk])
    assert task_queue.run() == ["not claimed"]

    with time_machine.travel(timedelta(seconds=30)):
        assert reconcile()["retry_due"] == 1
        task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 2)
    assert delivery.next_attempt_at - delivery.finished_at == timedelta(seconds=600)

    with time_machine.travel(timedelta(seconds=630)):
        assert reconcile()["retry_due"] == 1
        task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DEAD, 3)
    assert delivery.next_attempt_at is None
    assert "ConnectionError" in delivery.last_error
    assert reconcile(now=timezone.now() + timedelta(days=1)) == {
        "retry_due": 0,
        "never_enqueued": 0,
        "lease_expired": 0,
        "lost_in_transit": 0,
    }


def test_back_off_grows_with_jitter_by_default():
    policy = RetryPolicy(delays=(5, 30, 120))
    assert policy.max_attempts == 4
    assert 4 <= policy.delay_after(1) <= 6
    assert 24 <= policy.delay_after(2) <= 36
    assert policy.delay_after(4) is None


def test_a_duplicate_task_for_the_same_delivery_runs_the_handler_once(
    handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, confirm_order)
    event = order_widget(django_capture_on_commit_callbacks)
    delivery = delivery_of(event, confirm_order)
    task_queue.broker.enqueue(task_queue.broker.connection.lindex(task_queue.broker.list_key, 0))
    assert len(task_queue) == 2

    assert task_queue.run() == [Status.SUCCEEDED, "not claimed"]
    assert calls == ["confirmed 1"]
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def unconfigured(event):
    raise Skip("SAMPLE_WEBHOOK_URL is not set")


def rejected(event):
    raise PermanentFailure("HTTP 404 from the receiver")


def throttled(event):
    raise RetryLater("HTTP 429", seconds=300)


def test_skips_permanent_failures_and_retry_after_are_recorded(
    handlers, task_queue, django_capture_on_commit_callbacks
):
    for func in (unconfigured, rejected, throttled):
        handlers.add(WIDGET_ORDERED, func, retry=RetryPolicy(delays=(5,), jitter=0))
    event = order_widget(django_capture_on_commit_callbacks)
    task_queue.run()

    skipped = delivery_of(event, unconfigured)
    assert (skipped.status, skipped.last_error) == (Status.SKIPPED, "SAMPLE_WEBHOOK_URL is not set")
    dead = delivery_of(event, rejected)
    assert (dead.status, dead.attempts) == (Status.DEAD, 1)
    later = delivery_of(event, throttled)
    assert later.status == Status.FAILED
    assert later.next_attempt_at - later.finished_at == timedelta(seconds=300)


def test_an_operator_retries_a_dead_letter_and_it_succeeds(
    handlers, task_queue, django_capture_on_commit_callbacks
):
    outage = {"down": True}

    def flaky_receiver(event):
        if outage["down"]:
            raise ConnectionError("receiver down")
        calls.append("delivered")

    handlers.add(WIDGET_ORDERED, flaky_receiver, retry=RetryPolicy(delays=()))
    event = order_widget(django_capture_on_commit_callbacks)
    task_queue.run()
    delivery = Delivery.objects.get(event=event)
    assert delivery.status == Status.DEAD

    outage["down"] = False
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_now(Delivery.objects.all()) == [delivery.pk]
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, calls) == (Status.SUCCEEDED, 2, ["delivered"])
    assert retry_now(Delivery.objects.all()) == [], "a succeeded delivery is not retried"
