"""Retention: old events go once nothing is working on them; dead letters stay unless asked."""

import pydoc
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from eventplatform.events.models import Delivery, DeliveryAttempt, Event, EventAudience
from eventplatform.events.outbox import publish
from eventplatform.events.retention import prune, retention_cutoff
from tests.events.sample import WIDGET_AUDITED, WIDGET_ORDERED

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def ship(event):
    pass


@pytest.fixture
def publish_order(handlers, task_queue, django_capture_on_commit_callbacks):
    """Publish an order ``days_ago``, delivered then (one attempt), its delivery left in
    ``status``."""
    handlers.add(WIDGET_ORDERED, ship)

    def publish_order(days_ago: int, status: str = Status.SUCCEEDED) -> Event:
        with time_machine.travel(timedelta(days=-days_ago)):
            with django_capture_on_commit_callbacks(execute=True):
                event = publish(WIDGET_ORDERED, {"order_id": days_ago, "customer_id": 1})
            task_queue.run()
        Delivery.objects.filter(event=event).update(status=status)
        return event

    return publish_order


def remaining() -> list[int]:
    return sorted(Event.objects.values_list("payload__order_id", flat=True))


def test_old_finished_events_go_with_their_deliveries_attempts_and_audiences(publish_order):
    for days_ago in (40, 35, 31, 29, 1):
        publish_order(days_ago)

    pruned = prune(retention_cutoff(), batch_size=2)

    assert pruned == (3, 3, 3, 6)
    assert remaining() == [1, 29]
    assert Delivery.objects.count() == 2
    assert DeliveryAttempt.objects.count() == 2
    assert EventAudience.objects.count() == 4


@pytest.mark.parametrize("status", [Status.PENDING, Status.RUNNING, Status.FAILED])
def test_an_old_event_still_being_delivered_is_kept(publish_order, status):
    publish_order(90, status)

    assert prune(retention_cutoff()).events == 0
    assert remaining() == [90]


def test_dead_letters_are_kept_unless_asked(publish_order):
    publish_order(90, Status.DEAD)
    publish_order(90 + 1, Status.SKIPPED)

    assert prune(retention_cutoff()).events == 1
    assert remaining() == [90]
    assert prune(retention_cutoff(), dead_letters=True).events == 1
    assert remaining() == []


def test_the_command_reports_what_it_deleted_with_a_progress_bar(publish_order):
    for days_ago in (12, 11, 10, 3):
        publish_order(days_ago)
    out = StringIO()

    call_command("prune_events", "--older-than", "7", "--batch-size", "2", stdout=out)

    assert "] 2/3" in out.getvalue() and "] 3/3" in out.getvalue()
    assert (
        "Deleted 3 events, 3 deliveries with 3 attempts and 6 audience rows. (older than 7 days)"
        in out.getvalue()
    )
    assert remaining() == [3]


def test_the_default_age_is_the_retention_setting(publish_order, settings):
    settings.EVENTS = {**settings.EVENTS, "RETENTION_DAYS": 2}
    publish_order(3)

    call_command("prune_events", stdout=StringIO())

    assert remaining() == []


def test_a_daily_schedule_prunes_what_is_past_retention(publish_order):
    publish_order(45)
    publish_order(45 + 1, Status.DEAD)
    schedule = Schedule.objects.get(name="events.prune")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.DAILY, -1)

    assert pydoc.locate(schedule.func)() == (
        "Deleted 1 events, 1 deliveries with 1 attempts and 2 audience rows. "
        "Health snapshots: 0 deleted."
    )
    assert remaining() == [46]


def test_one_type_can_be_kept_for_less_time(publish_order, django_capture_on_commit_callbacks):
    publish_order(3)
    with (
        time_machine.travel(timedelta(days=-3)),
        django_capture_on_commit_callbacks(execute=False),
    ):
        publish(WIDGET_AUDITED, {"order_id": 3})

    pruned = prune(timezone.now() - timedelta(days=1), event_type=WIDGET_AUDITED.name)

    assert pruned.events == 1
    assert list(Event.objects.values_list("type", flat=True)) == [WIDGET_ORDERED.name]
