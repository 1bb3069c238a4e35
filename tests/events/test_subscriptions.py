"""Operators' webhook subscriptions: matching events are POSTed, signed; 410 switches one off."""

import pytest
from standardwebhooks import Webhook

from eventplatform.events.models import Delivery, WebhookSubscription
from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_AUDITED, WIDGET_ORDERED

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(http_receiver, settings):
    # The receiver listens on 127.0.0.1, which operators' webhooks may reach only when allowed.
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    return WebhookSubscription.objects.create(
        name="Warehouse", event_types="sample.widget.ordered.*", url=http_receiver.url
    )


def publish_and_deliver(capture, task_queue, event_type, payload):
    with capture(execute=True):
        event = publish(event_type, payload)
    task_queue.run()
    return event


def test_matching_events_are_delivered_signed_to_the_subscribed_url(
    subscription, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    ordered = publish_and_deliver(
        django_capture_on_commit_callbacks,
        task_queue,
        WIDGET_ORDERED,
        {"order_id": 1, "customer_id": 2},
    )
    publish_and_deliver(
        django_capture_on_commit_callbacks, task_queue, WIDGET_AUDITED, {"order_id": 1}
    )

    (request,) = http_receiver.requests
    Webhook(subscription.secret).verify(request.body, request.headers)
    assert request.json()["id"] == str(ordered.id)
    delivery = Delivery.objects.get(handler=f"webhook:{subscription.pk}")
    assert (delivery.event_id, delivery.status) == (ordered.pk, "succeeded")


def test_a_gone_endpoint_switches_the_subscription_off(
    subscription, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    http_receiver.status = 410
    publish_and_deliver(
        django_capture_on_commit_callbacks,
        task_queue,
        WIDGET_ORDERED,
        {"order_id": 1, "customer_id": 2},
    )
    delivery = Delivery.objects.get(handler=f"webhook:{subscription.pk}")
    assert delivery.status == "dead"
    subscription.refresh_from_db()
    assert not subscription.active
    assert "HTTP 410" in subscription.disabled_reason

    publish_and_deliver(
        django_capture_on_commit_callbacks,
        task_queue,
        WIDGET_ORDERED,
        {"order_id": 2, "customer_id": 2},
    )
    assert len(http_receiver.requests) == 1, "a switched-off subscription gets nothing more"


def test_a_failing_endpoint_is_retried_like_any_delivery(
    subscription, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    http_receiver.status = 503
    publish_and_deliver(
        django_capture_on_commit_callbacks,
        task_queue,
        WIDGET_ORDERED,
        {"order_id": 1, "customer_id": 2},
    )
    delivery = Delivery.objects.get(handler=f"webhook:{subscription.pk}")
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is not None
    assert subscription.secret.startswith("whsec_")
