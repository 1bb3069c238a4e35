"""Publishing writes to the outbox in the caller's transaction and reacts only after commit."""

import pytest
from django.db import transaction

from eventplatform.events.models import Delivery, Event
from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_ORDERED, WidgetOrdered

pytestmark = pytest.mark.django_db


def record_order(event):
    pass


def bill_order(event):
    pass


@pytest.fixture
def two_handlers(handlers):
    handlers.add(WIDGET_ORDERED, record_order)
    handlers.add(WIDGET_ORDERED, bill_order)


def test_commit_enqueues_one_task_per_delivery_carrying_only_its_id(
    two_handlers, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = publish(WIDGET_ORDERED, WidgetOrdered(order_id=7, customer_id=3))
        assert len(task_queue) == 0, "nothing may leave before the commit"

    deliveries = Delivery.objects.filter(event=event)
    assert sorted(d.handler.rsplit(".", 1)[1] for d in deliveries) == ["bill_order", "record_order"]
    tasks = task_queue.tasks()
    assert sorted(t["args"] for t in tasks) == sorted((d.pk,) for d in deliveries)
    assert all(t["kwargs"] == {} for t in tasks)
    assert all(d.enqueued_at is not None for d in deliveries)
    assert event.audience == ["agents", "user.3"]
    assert set(event.audiences.values_list("group", flat=True)) == {"agents", "user.3"}


def test_rollback_leaves_no_event_no_delivery_no_task(
    two_handlers, task_queue, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish(WIDGET_ORDERED, {"order_id": 7, "customer_id": 3})
        raise RuntimeError("the order could not be saved")

    assert callbacks == []
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert len(task_queue) == 0


def test_a_rolled_back_savepoint_discards_only_its_own_events(
    two_handlers, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        kept = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 3})
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(WIDGET_ORDERED, {"order_id": 2, "customer_id": 3})
            raise RuntimeError("inner step failed")

    assert len(callbacks) == 1
    assert list(Event.objects.values_list("payload__order_id", flat=True)) == [1]
    assert {t["args"][0] for t in task_queue.tasks()} == set(
        Delivery.objects.filter(event=kept).values_list("pk", flat=True)
    )


def test_an_event_nobody_handles_is_still_recorded(task_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = publish("sample.widget.audited.v1", {"order_id": 5})
    assert Event.objects.get().id == event.id
    assert len(task_queue) == 0
