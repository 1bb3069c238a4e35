"""Operating webhook subscriptions from the admin: rotating a secret without downtime, pausing
an endpoint that keeps failing, sending a test event, reading how an endpoint fares."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from eventplatform.events.models import (
    Delivery,
    DeliveryAttempt,
    EventAudience,
    WebhookSubscription,
)
from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:events_webhooksubscription_changelist")


@pytest.fixture
def subscription(http_receiver, settings):
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    return WebhookSubscription.objects.create(
        name="Warehouse", event_types="sample.*", url=http_receiver.url
    )


@pytest.fixture
def order(task_queue, django_capture_on_commit_callbacks):
    """Publish an order and work off what it caused."""
    orders = iter(range(1, 1000))

    def order():
        with django_capture_on_commit_callbacks(execute=True):
            publish(WIDGET_ORDERED, {"order_id": next(orders), "customer_id": 2})
        task_queue.run()

    return order


def act(admin_client, action: str, *subscriptions: WebhookSubscription):
    """Run an admin action on ``subscriptions`` from their list, as an operator does."""
    return admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [s.pk for s in subscriptions]},
        follow=True,
    )


def verifies(secret: str, request) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def test_a_rotated_secret_signs_beside_the_old_one_until_its_grace_period_ends(
    admin_client, subscription, http_receiver, order
):
    old = subscription.secret
    order()

    rotated = act(admin_client, "rotate_secret", subscription)
    subscription.refresh_from_db()
    new = subscription.secret
    order()
    before, during = http_receiver.requests
    assert verifies(old, before)
    assert (verifies(old, during), verifies(new, during)) == (True, True)
    # Receivers refuse a timestamp five minutes old: each request is checked when it arrives.
    with time_machine.travel(timedelta(hours=24, minutes=1)):
        order()
        after = http_receiver.requests[-1]
        assert (verifies(old, after), verifies(new, after)) == (False, True)

    assert rotated.status_code == 200
    message = rotated.content.decode()
    assert f"The signing secret of “Warehouse” is {new}" in message
    assert "Requests are signed with the previous one too until" in message
    page = admin_client.get(
        reverse("admin:events_webhooksubscription_change", args=[subscription.pk])
    ).content.decode()
    assert new not in page and old not in page
    assert f"whsec_…{old[-4:]}, signing beside the current one until" in page
    (entry,) = LogEntry.objects.all()
    assert entry.get_change_message() == "Rotated the signing secret."


def test_the_grace_period_is_a_setting(subscription, http_receiver, order, settings):
    settings.EVENTS = {**settings.EVENTS, "WEBHOOK_SECRET_GRACE_HOURS": 1}
    old = subscription.secret
    subscription.rotate_secret()

    with time_machine.travel(timedelta(hours=1, minutes=1)):
        order()
        (request,) = http_receiver.requests
        assert (verifies(old, request), verifies(subscription.secret, request)) == (False, True)


def test_an_endpoint_failing_attempt_after_attempt_is_paused(
    admin_client, subscription, http_receiver, order, settings
):
    settings.EVENTS = {**settings.EVENTS, "WEBHOOK_PAUSE_AFTER": 3}
    http_receiver.status = 500
    order()
    order()
    http_receiver.status = 200
    order()  # a success starts the count over
    http_receiver.status = 500
    order()
    order()
    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures) == (True, 2)

    order()
    subscription.refresh_from_db()
    assert not subscription.active
    assert subscription.disabled_reason == "Paused after 3 failed attempts in a row."
    assert timezone.now() - subscription.disabled_at < timedelta(seconds=5)
    order()
    assert len(http_receiver.requests) == 6, "a paused subscription gets nothing more"
    change = reverse("admin:events_webhooksubscription_change", args=[subscription.pk])
    assert "Paused after 3 failed attempts in a row." in admin_client.get(change).content.decode()

    reactivated = admin_client.post(
        change,
        {
            "name": subscription.name,
            "event_types": subscription.event_types,
            "url": subscription.url,
            "active": "on",
        },
    )
    assert reactivated.status_code == 302
    subscription.refresh_from_db()
    assert subscription.active
    assert (subscription.consecutive_failures, subscription.disabled_reason) == (0, "")
    assert subscription.disabled_at is None


def test_a_gone_endpoint_is_switched_off_at_the_first_410(subscription, http_receiver, order):
    http_receiver.status = 410
    order()

    subscription.refresh_from_db()
    assert not subscription.active
    assert subscription.disabled_reason == f"HTTP 410 from {http_receiver.url}: error"
    assert subscription.disabled_at is not None


def test_a_test_event_goes_to_the_chosen_subscription_only(
    admin_client, subscription, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    everything = WebhookSubscription.objects.create(
        name="Everything", event_types="*", url=http_receiver.url
    )

    with django_capture_on_commit_callbacks(execute=True):
        sent = act(admin_client, "send_test", subscription)
    task_queue.run()

    delivery = Delivery.objects.get()
    assert sent.status_code == 200
    link = reverse("admin:events_delivery_change", args=[delivery.pk])
    assert (
        f'Test event sent to “Warehouse”: its answer shows on <a href="{link}">delivery '
        f"{delivery.pk}</a>" in sent.content.decode()
    )
    (request,) = http_receiver.requests
    assert verifies(subscription.secret, request)
    assert not verifies(everything.secret, request)
    assert request.json()["type"] == "events.webhook.tested.v1"
    assert request.json()["data"] == {"subscription_id": subscription.pk}
    assert (delivery.handler, delivery.status) == (subscription.handler_name, "succeeded")
    assert list(delivery.history.values_list("outcome", "http_status")) == [("succeeded", 200)]
    assert not EventAudience.objects.exists(), "no user's stream sees a test event"


def test_a_switched_off_subscription_is_not_sent_a_test(admin_client, subscription):
    subscription.active = False
    subscription.save()

    sent = act(admin_client, "send_test", subscription)

    assert "“Warehouse” is switched off: reactivate it first." in sent.content.decode()
    assert not Delivery.objects.exists()


def attempt(
    subscription, outcome: str, *, status: int | None, hours_ago: float = 0, excerpt: str = ""
):
    """An attempt of a delivery to ``subscription``, as the runner would have recorded it."""
    event = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 2})
    delivery, _ = Delivery.objects.get_or_create(event=event, handler=subscription.handler_name)
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=timezone.now() - timedelta(hours=hours_ago),
        outcome=outcome,
        http_status=status,
        response_excerpt=excerpt,
    )


def test_the_list_and_page_show_the_success_rate_and_the_last_answer(admin_client, subscription):
    Outcome = DeliveryAttempt.Outcome
    attempt(subscription, Outcome.FAILED, status=500, hours_ago=30, excerpt="too old to count")
    attempt(subscription, Outcome.SUCCEEDED, status=200, hours_ago=3, excerpt="ok")
    attempt(subscription, Outcome.SUCCEEDED, status=200, hours_ago=2, excerpt="ok")
    last = attempt(subscription, Outcome.RETRY_LATER, status=503, hours_ago=1, excerpt="busy")
    attempt(subscription, Outcome.FAILED, status=None)  # no answer: a connection refused
    silent = WebhookSubscription.objects.create(
        name="Silent", event_types="sample.*", url=subscription.url
    )

    listing = admin_client.get(CHANGELIST).content.decode()
    page = admin_client.get(
        reverse("admin:events_webhooksubscription_change", args=[subscription.pk])
    ).content.decode()

    answered = f"HTTP 503 at {last.started_at:%Y-%m-%d %H:%M} UTC: busy"
    for content in (listing, page):
        assert "50 % of 4 attempts" in content
        assert answered in content
    silent_page = admin_client.get(
        reverse("admin:events_webhooksubscription_change", args=[silent.pk])
    ).content.decode()
    assert "no attempts" in silent_page


def test_the_list_reads_every_subscriptions_attempts_in_the_same_query(admin_client, subscription):
    def queries_of_the_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    attempt(subscription, DeliveryAttempt.Outcome.SUCCEEDED, status=200)
    one = queries_of_the_list()
    for n in range(5):
        other = WebhookSubscription.objects.create(
            name=f"Receiver {n}", event_types="sample.*", url=subscription.url
        )
        attempt(other, DeliveryAttempt.Outcome.FAILED, status=500)

    assert queries_of_the_list() == one
