"""Replay: archived events delivered again, by type and time range, from the API, admin or CLI."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from eventplatform.events.models import Delivery, Event
from eventplatform.events.outbox import publish
from eventplatform.events.queue import enqueue_deliveries
from eventplatform.events.subscriptions import RetryPolicy
from tests.clients import api_client_for
from tests.events.sample import WIDGET_AUDITED, WIDGET_ORDERED

pytestmark = pytest.mark.django_db
shipped: list[int] = []
audited: list[int] = []


def ship(event):
    shipped.append(event.data.order_id)


def audit(event):
    audited.append(event.data.order_id)


@pytest.fixture
def history(handlers, task_queue, django_capture_on_commit_callbacks):
    """Three orders and an audit, all delivered once; one order from last week."""
    shipped.clear()
    audited.clear()
    handlers.add(WIDGET_ORDERED, ship)
    handlers.add(WIDGET_AUDITED, audit)
    with django_capture_on_commit_callbacks(execute=True):
        old = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 1})
        for order_id in (2, 3):
            publish(WIDGET_ORDERED, {"order_id": order_id, "customer_id": 1})
        publish(WIDGET_AUDITED, {"order_id": 9})
    Event.objects.filter(pk=old.pk).update(time=timezone.now() - timedelta(days=7))
    task_queue.run()
    shipped.clear()
    audited.clear()
    return timezone.now() - timedelta(days=1)


def test_operators_replay_a_type_over_a_time_range_through_the_api(
    admin_user, history, task_queue, django_capture_on_commit_callbacks
):
    client = api_client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/events/replay/",
            {"type": "sample.widget.ordered.v1", "since": history.isoformat()},
            format="json",
        )
    assert response.status_code == 202
    assert response.json() == {
        "events": 2,
        "deliveries": 2,
        "skipped_running": 0,
        "kept_since": None,
        "summary": "Replayed 2 events: 2 deliveries queued.",
    }
    task_queue.run()
    assert sorted(shipped) == [2, 3]
    assert audited == []
    # Each started over: this run is its first attempt.
    assert set(
        Delivery.objects.filter(event__payload__order_id__in=[2, 3]).values_list(
            "status", "attempts"
        )
    ) == {("succeeded", 1)}


def refuse(event):
    raise ConnectionError("the warehouse is down")


def test_a_replayed_dead_letter_gets_its_whole_retry_policy_again(
    admin_user, handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, refuse, retry=RetryPolicy(delays=(0,), jitter=0))
    with django_capture_on_commit_callbacks(execute=True):
        event = publish(WIDGET_ORDERED, {"order_id": 4, "customer_id": 1})
    task_queue.run()
    delivery = Delivery.objects.get(event=event)
    enqueue_deliveries([delivery.pk])  # its retry, due at once
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("dead", 2)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(admin_user).post(
            "/api/v1/events/replay/",
            {"type": "sample.widget.ordered.v1", "since": event.time.isoformat()},
            format="json",
        )
    assert (response.status_code, response.json()["deliveries"]) == (202, 1)
    task_queue.run()
    delivery.refresh_from_db()
    # Still failing, but a retry is scheduled again rather than a dead letter at once.
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.next_attempt_at is not None
    shown = api_client_for(admin_user).get(f"/api/v1/events/{event.id}/").json()["deliveries"][0]
    assert shown["replayed_at"] is not None, "operators see that it was replayed"


@pytest.mark.django_db(transaction=True)
def test_replay_leaves_a_running_delivery_to_its_worker(admin_user, handlers, task_queue):
    running, release = threading.Event(), threading.Event()

    def ship_slowly(event):
        shipped.append(event.data.order_id)
        running.set()
        release.wait(10)

    def worker():
        try:
            task_queue.run()
        finally:
            connection.close()  # the thread's own connection

    shipped.clear()
    handlers.add(WIDGET_ORDERED, ship_slowly)
    with transaction.atomic():
        event = publish(WIDGET_ORDERED, {"order_id": 5, "customer_id": 1})
    busy = threading.Thread(target=worker)
    busy.start()
    try:
        assert running.wait(10)
        response = api_client_for(admin_user).post(
            "/api/v1/events/replay/",
            {"type": "sample.widget.ordered.v1", "since": event.time.isoformat()},
            format="json",
        )
    finally:
        release.set()
        busy.join(10)

    assert response.status_code == 202
    assert response.json() | {"summary": ""} == {
        "events": 1,
        "deliveries": 0,
        "skipped_running": 1,
        "kept_since": None,
        "summary": "",
    }
    assert "left alone: a worker is running them" in response.json()["summary"]
    task_queue.run()
    assert shipped == [5], "the receiver got the order once"
    delivery = Delivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_replay_input_is_checked(admin_user, customer, history):
    client = api_client_for(admin_user)
    since = history.isoformat()
    bad = [
        ({"since": since}, "type"),
        ({"type": "sample.*"}, "since"),
        (
            {"type": "sample.*", "since": since, "until": history.replace(year=2000).isoformat()},
            "until",
        ),
        ({"type": "sample.*", "since": since, "handler": "no.such.handler"}, "handler"),
        ({"type": "sample.*", "since": since, "handler": "webhook:abc"}, "handler"),
        ({"type": "sample.\x00", "since": since}, "type"),
        ({"type": "sample.*", "since": "0001-01-01T00:00:00+01:00"}, "since"),
        ({"type": "sample.*", "since": since, "until": "9999-12-31T23:59:59-01:00"}, "until"),
    ]
    for payload, field in bad:
        response = client.post("/api/v1/events/replay/", payload, format="json")
        assert response.status_code == 400 and field in response.json(), payload
    forbidden = api_client_for(customer).post(
        "/api/v1/events/replay/", {"type": "sample.*", "since": since}, format="json"
    )
    assert forbidden.status_code == 403


def test_the_command_replays_one_handler_with_a_progress_bar(
    history, task_queue, django_capture_on_commit_callbacks
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "replay_events",
            "--type=sample.*",
            f"--since={(history - timedelta(days=30)).isoformat()}",
            "--handler=tests.events.test_replay.ship",
            stdout=out,
        )
    assert "[##############################] 4/4" in out.getvalue()
    assert "Replayed 4 events: 3 deliveries queued." in out.getvalue()
    assert "Events are kept 30 days: those before " in out.getvalue(), "31 days back"
    assert "may have been pruned." in out.getvalue()
    task_queue.run()
    assert sorted(shipped) == [1, 2, 3]
    assert audited == []
    with pytest.raises(CommandError, match="Give an ISO 8601 date and time"):
        call_command("replay_events", "--type=sample.*", "--since=yesterday")


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        ("--since=0001-01-01T00:00:00+01:00", "between the years 1 and 9999"),
        ("--until=9999-12-31T23:59:59-01:00", "between the years 1 and 9999"),
        ("--handler=webhook:abc", "No handler of this name"),
        ("--type=sample.\x00", "Give an event type"),
    ],
)
def test_the_command_reads_its_options_as_the_api_does(history, option, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("replay_events", "--type=sample.*", "--since=2026-01-01T00:00:00Z", option)


def test_an_operator_replays_selected_events_in_the_admin(
    admin_client, history, task_queue, django_capture_on_commit_callbacks
):
    audit_event = Event.objects.get(type="sample.widget.audited.v1")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:events_event_changelist"),
            {"action": "replay_selected", "_selected_action": [audit_event.pk]},
            follow=True,
        )
    assert b"Replayed 1 events: 1 deliveries queued." in response.content
    task_queue.run()
    assert audited == [9]
