"""Operators editing tickets in the admin get the same outcome as agents using the services."""

from collections.abc import Sequence
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from eventplatform.events.models import Event
from support import services
from support.events import MESSAGE_POSTED
from support.models import Message, Priority, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    ticket = services.ticket_create(customer=customer, subject="Printer jam", body="Again.")
    return services.ticket_prioritize(ticket_id=ticket.pk)


def change_form(ticket: Ticket, *, messages: Sequence[dict] = (), **changes) -> dict:
    """The ticket's admin change form as the browser submits it, with ``changes`` applied."""
    due = timezone.localtime(ticket.sla_due_at)
    data = {
        "customer": ticket.customer_id,
        "subject": ticket.subject,
        "body": ticket.body,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "sla_due_at_0": due.date().isoformat(),
        "sla_due_at_1": due.time().isoformat(),
        "messages-TOTAL_FORMS": len(messages),
        "messages-INITIAL_FORMS": 0,
    }
    for index, message in enumerate(messages):
        data.update({f"messages-{index}-{field}": value for field, value in message.items()})
    return {**data, **changes}


def save_in_admin(client, ticket: Ticket, data: dict):
    return client.post(reverse("admin:support_ticket_change", args=[ticket.pk]), data)


def test_an_agent_reply_added_in_the_admin_is_the_first_response_and_meets_the_sla(
    admin_client, ticket, agent
):
    reply = {"author": agent.pk, "body": "  We are on it.  "}

    response = save_in_admin(admin_client, ticket, change_form(ticket, messages=[reply]))

    assert response.status_code == 302
    message = Message.objects.get(ticket=ticket)
    assert (message.body, message.from_agent) == ("We are on it.", True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at == message.created_at
    after_due = ticket.sla_due_at + timedelta(seconds=1)
    assert not services.ticket_check_sla(ticket_id=ticket.pk, now=after_due)
    ticket.refresh_from_db()
    assert ticket.sla_breached_at is None
    assert Event.objects.filter(type=MESSAGE_POSTED.name, payload__message_id=message.pk).exists()


def test_a_reply_the_service_would_refuse_is_refused_in_the_admin_with_the_reason(
    admin_client, ticket, customer
):
    note = {"author": customer.pk, "body": "Let me see the notes.", "internal": "on"}

    response = save_in_admin(admin_client, ticket, change_form(ticket, messages=[note]))

    assert response.status_code == 200
    assert "Only agents write internal notes." in response.content.decode()
    assert not Message.objects.exists()


def test_a_priority_changed_in_the_admin_is_the_change_the_service_makes(
    client, ticket, customer, agent
):
    agent.is_staff = agent.is_superuser = True
    agent.save()
    client.force_login(agent)
    through_service = services.ticket_prioritize(
        ticket_id=services.ticket_create(customer=customer, subject="Jam", body="Again.").pk
    )
    services.ticket_update(ticket=through_service, by=agent, priority=Priority.URGENT)
    through_service.refresh_from_db()

    response = save_in_admin(client, ticket, change_form(ticket, priority=Priority.URGENT))

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == through_service.priority == Priority.URGENT
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=1)
    assert ticket.priority_reason == through_service.priority_reason


def test_the_admin_assigns_tickets_to_agents_only_as_the_service_does(
    admin_client, ticket, customer
):
    response = save_in_admin(admin_client, ticket, change_form(ticket, assignee=customer.pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["assignee"] == [
        "Tickets are assigned to agents only."
    ]
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_a_bulk_update_of_tickets_is_refused_and_points_to_the_services(ticket):
    with pytest.raises(TypeError, match=r"support\.services"):
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)

    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_write_that_is_no_domain_change_says_so_and_emits_nothing(ticket):
    events_before = Event.objects.count()

    Ticket.objects.filter(pk=ticket.pk).update_without_events(sla_due_at=timezone.now())

    assert Event.objects.count() == events_before
