"""The deliveries list in the admin: what needs an operator comes first."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from eventplatform.events.models import Delivery, Event
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def delivery(status: str, *, hours_ago: int) -> Delivery:
    event = Event.objects.create(
        type=WIDGET_ORDERED.name, source="/tests", payload={"order_id": 1, "customer_id": 2}
    )
    created_at = timezone.now() - timedelta(hours=hours_ago)
    return Delivery.objects.create(
        event=event, handler="sample.fulfilment", status=status, created_at=created_at
    )


def test_dead_letters_then_failures_come_first_each_newest_first(admin_client):
    old_dead = delivery(Status.DEAD, hours_ago=5)
    old_failed = delivery(Status.FAILED, hours_ago=4)
    succeeded = delivery(Status.SUCCEEDED, hours_ago=3)
    dead = delivery(Status.DEAD, hours_ago=2)
    pending = delivery(Status.PENDING, hours_ago=1)

    response = admin_client.get(reverse("admin:events_delivery_changelist"))

    assert response.status_code == 200
    listed = list(response.context["cl"].result_list)
    assert listed == [dead, old_dead, old_failed, pending, succeeded]
