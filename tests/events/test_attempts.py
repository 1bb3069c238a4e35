"""Every attempt of a delivery is kept: what each run met, in the admin and the staff API."""

import time

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from eventplatform.events.delivery import retry_now
from eventplatform.events.models import Delivery, DeliveryAttempt, WebhookSubscription
from eventplatform.events.outbox import publish
from eventplatform.events.outcomes import PermanentFailure, RetryLater, Skip
from eventplatform.events.subscriptions import RetryPolicy
from tests.clients import api_client_for
from tests.events.sample import WIDGET_ORDERED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Outcome = DeliveryAttempt.Outcome
Status = Delivery.Status
outage = {"down": True}


@pytest.fixture(autouse=True)
def receiver_down():
    outage["down"] = True


def flaky_receiver(event):
    if outage["down"]:
        raise ConnectionError("receiver down")


def deliver(event):
    pass


def unconfigured(event):
    raise Skip("SAMPLE_WEBHOOK_URL is not set")


def rejected(event):
    raise PermanentFailure("HTTP 404 from the receiver")


def throttled(event):
    raise RetryLater("HTTP 429 from the receiver", seconds=300)


def hang(event):
    time.sleep(30)


def order_widget(capture):
    with capture(execute=True):
        return publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 2})


def attempts_of(delivery: Delivery) -> list[tuple]:
    return list(delivery.history.values_list("number", "outcome", "error"))


def test_each_attempt_is_kept_oldest_first_beside_the_deliverys_summary(
    handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, flaky_receiver, retry=RetryPolicy(delays=()))
    order_widget(django_capture_on_commit_callbacks)
    task_queue.run()
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        retry_now(Delivery.objects.all())
    task_queue.run()
    outage["down"] = False
    with django_capture_on_commit_callbacks(execute=True):
        retry_now(Delivery.objects.all())
    task_queue.run()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (Status.SUCCEEDED, 3, "")
    assert attempts_of(delivery) == [
        (1, Outcome.FAILED, "ConnectionError: receiver down"),
        (2, Outcome.FAILED, "ConnectionError: receiver down"),
        (3, Outcome.SUCCEEDED, ""),
    ]
    last = delivery.history.last()
    assert (last.started_at, last.duration_ms) == (delivery.started_at, delivery.duration_ms)


@pytest.mark.parametrize(
    "handler, outcome, error",
    [
        (deliver, Outcome.SUCCEEDED, ""),
        (flaky_receiver, Outcome.FAILED, "ConnectionError: receiver down"),
        (throttled, Outcome.RETRY_LATER, "RetryLater: HTTP 429 from the receiver"),
        (hang, Outcome.TIMED_OUT, "TimeLimitExceeded: ran longer than its time limit of 0.5 s"),
        (unconfigured, Outcome.SKIPPED, "SAMPLE_WEBHOOK_URL is not set"),
        (rejected, Outcome.DEAD, "PermanentFailure: HTTP 404 from the receiver"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_an_attempt_says_how_its_run_ended(
    handlers, task_queue, django_capture_on_commit_callbacks, handler, outcome, error
):
    handlers.add(WIDGET_ORDERED, handler, time_limit=0.5)
    order_widget(django_capture_on_commit_callbacks)
    task_queue.run()

    assert attempts_of(Delivery.objects.get()) == [(1, outcome, error)]


@pytest.fixture
def subscription(http_receiver, settings):
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    return WebhookSubscription.objects.create(
        name="Warehouse", event_types="sample.*", url=f"{http_receiver.url}?token=s3cret"
    )


def test_a_webhook_attempt_keeps_the_status_and_the_start_of_the_answer(
    subscription, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    http_receiver.status = 503
    http_receiver.body = b"overloaded " * 50
    order_widget(django_capture_on_commit_callbacks)
    task_queue.run()
    http_receiver.status, http_receiver.body = 200, None
    with django_capture_on_commit_callbacks(execute=True):
        retry_now(Delivery.objects.all())
    task_queue.run()

    failed, succeeded = Delivery.objects.get().history.all()
    assert (failed.outcome, failed.http_status) == (Outcome.RETRY_LATER, 503)
    assert failed.response_excerpt == ("overloaded " * 50)[:200]
    assert "s3cret" not in failed.error
    assert (succeeded.outcome, succeeded.http_status, succeeded.response_excerpt) == (
        Outcome.SUCCEEDED,
        200,
        "ok",
    )


def test_a_refused_address_leaves_no_answer_and_no_token_in_the_attempt(
    subscription, http_receiver, task_queue, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOUND_URL_ALLOW = []
    order_widget(django_capture_on_commit_callbacks)
    task_queue.run()

    (attempt,) = Delivery.objects.get().history.all()
    assert http_receiver.requests == []
    assert (attempt.outcome, attempt.http_status, attempt.response_excerpt) == (
        Outcome.DEAD,
        None,
        "",
    )
    assert attempt.error.startswith(f"PermanentFailure: Refused {http_receiver.url}: ")
    assert "s3cret" not in attempt.error


@pytest.fixture
def retried_delivery(handlers, task_queue, django_capture_on_commit_callbacks) -> Delivery:
    """A delivery that failed once, then succeeded on an operator's retry."""
    handlers.add(WIDGET_ORDERED, flaky_receiver, retry=RetryPolicy(delays=()))
    order_widget(django_capture_on_commit_callbacks)
    task_queue.run()
    outage["down"] = False
    with django_capture_on_commit_callbacks(execute=True):
        retry_now(Delivery.objects.all())
    task_queue.run()
    return Delivery.objects.get()


def test_the_staff_api_lists_a_deliverys_history_oldest_first(retried_delivery, admin_user):
    client = api_client_for(admin_user)

    delivery = client.get(f"/api/v1/deliveries/{retried_delivery.pk}/")
    event = client.get(f"/api/v1/events/{retried_delivery.event.id}/")

    assert (delivery.status_code, event.status_code) == (200, 200)
    history = delivery.json()["history"]
    assert [(a["number"], a["outcome"], a["error"]) for a in history] == [
        (1, "failed", "ConnectionError: receiver down"),
        (2, "succeeded", ""),
    ]
    assert set(history[0]) == {
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "error",
        "http_status",
        "response_excerpt",
    }
    assert event.json()["deliveries"][0]["history"] == history


def test_an_operator_reads_the_attempts_on_the_deliverys_page(retried_delivery, client):
    operator = UserFactory(is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="view_delivery"))
    client.force_login(operator)

    page = client.get(reverse("admin:events_delivery_change", args=[retried_delivery.pk]))

    assert page.status_code == 200
    content = page.content.decode()
    first, second = (content.index(f"attempt {n} of delivery") for n in (1, 2))
    assert first < content.index("ConnectionError: receiver down") < second
    assert "<p>Succeeded</p>" in content[second:]
    assert 'name="history-0-outcome"' not in content, "attempts are read-only"
