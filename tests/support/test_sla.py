"""The first-response SLA: one scheduled check per ticket, a breach emitted once, never
after an agent's reply."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from eventplatform.events.models import Event
from support import services
from support.models import Priority, Ticket

pytestmark = pytest.mark.django_db
BREACHED = "support.ticket.sla_breached.v1"


@pytest.fixture
def new_ticket(settings, customer, outage_rule, submit, settle):
    """An urgent ticket, prioritised, with its SLA check scheduled."""
    settings.SLACK_WEBHOOK_URL = settings.CRM_WEBHOOK_URL = ""
    ticket = submit(customer, subject="Total outage")
    settle()
    ticket.refresh_from_db()
    return ticket


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    # The scheduler closes idle database connections between ticks, as a long-running
    # process should; here that connection holds the test's transaction.
    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)


def sla_checks():
    return Schedule.objects.filter(func="support.tasks.check_sla")


def time_passes(task_queue, ticket, *, past_due: bool = True) -> None:
    """Move the due time into the past (as the clock would), then let the scheduler tick."""
    due = timezone.now() - timedelta(seconds=1)
    if past_due:
        Ticket.objects.filter(pk=ticket.pk).update_without_events(sla_due_at=due)
        Schedule.objects.filter(name=services.sla_schedule_name(ticket.pk)).update(next_run=due)
    scheduler(task_queue.broker)
    task_queue.run()


def test_one_check_is_scheduled_at_the_due_time_no_polling(new_ticket):
    (schedule,) = sla_checks()
    assert schedule.func == "support.tasks.check_sla"
    assert schedule.schedule_type == Schedule.ONCE
    assert (
        schedule.next_run == new_ticket.sla_due_at == (new_ticket.created_at + timedelta(hours=1))
    )


def test_nothing_happens_before_the_due_time(new_ticket, task_queue):
    time_passes(task_queue, new_ticket, past_due=False)
    assert not Event.objects.filter(type=BREACHED).exists()
    assert sla_checks().count() == 1


def test_a_missed_first_response_is_breached_once_and_agents_hear_on_slack(
    settings, new_ticket, task_queue, settle, http_receiver, django_capture_on_commit_callbacks
):
    settings.SLACK_WEBHOOK_URL = http_receiver.url
    with django_capture_on_commit_callbacks(execute=True):
        time_passes(task_queue, new_ticket)
    settle()

    (breach,) = Event.objects.filter(type=BREACHED)
    assert breach.payload["ticket_id"] == new_ticket.pk
    assert breach.audience == ["agents"]
    new_ticket.refresh_from_db()
    assert new_ticket.sla_breached_at is not None
    (alert,) = http_receiver.requests
    assert "SLA breached" in alert.json()["text"] and new_ticket.reference in alert.json()["text"]
    assert not sla_checks().exists(), "a one-off check removes itself"

    # The check running again (a duplicate task, a retry) does not breach twice.
    assert services.sla_check(ticket_id=new_ticket.pk) is False
    assert Event.objects.filter(type=BREACHED).count() == 1


def test_no_breach_once_an_agent_replied(new_ticket, agent, task_queue):
    services.message_post(ticket=new_ticket, author=agent, body="Looking into it now.")
    time_passes(task_queue, new_ticket)
    assert not Event.objects.filter(type=BREACHED).exists()
    new_ticket.refresh_from_db()
    assert new_ticket.sla_breached_at is None
    assert new_ticket.first_responded_at is not None


def test_an_internal_note_is_not_a_first_response(new_ticket, agent, task_queue):
    services.message_post(ticket=new_ticket, author=agent, body="Escalating", internal=True)
    time_passes(task_queue, new_ticket)
    assert Event.objects.filter(type=BREACHED).count() == 1


def test_a_resolved_ticket_is_not_breached(new_ticket, agent, task_queue):
    services.ticket_update(ticket=new_ticket, by=agent, status="resolved")
    time_passes(task_queue, new_ticket)
    assert not Event.objects.filter(type=BREACHED).exists()


def test_a_priority_change_moves_the_check(
    new_ticket, agent, settle, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_update(ticket=new_ticket, by=agent, priority=Priority.LOW)
    settle()
    (schedule,) = sla_checks()
    assert schedule.next_run == new_ticket.created_at + timedelta(hours=72)
