"""Each support event carries the payload its ``from_`` method builds from the ticket or the
message that the write left behind: payloads are built one way."""

from datetime import timedelta

import pytest

from eventplatform.events.models import Event
from support import events, services
from support.models import Status, Ticket

pytestmark = pytest.mark.django_db


def built(payload) -> dict:
    return payload.model_dump(mode="json")


def test_every_event_of_a_tickets_life_carries_the_payload_built_from_it(customer, agent):
    ticket = services.ticket_create(customer=customer, subject="Outage", body="Help")
    expected = {events.TICKET_CREATED: built(events.TicketCreated.from_ticket(ticket))}
    ticket = services.ticket_prioritise(ticket_id=ticket.pk)
    expected[events.TICKET_PRIORITISED] = built(events.TicketPrioritised.from_ticket(ticket))
    ticket = services.ticket_update(ticket=ticket, by=agent, assignee=agent, status=Status.PENDING)
    expected[events.TICKET_ASSIGNED] = built(events.TicketAssigned.from_ticket(ticket))
    expected[events.TICKET_STATUS_CHANGED] = built(
        events.TicketStatusChanged.from_ticket(ticket, previous_status=Status.OPEN)
    )
    note = services.message_post(ticket=ticket, author=agent, body="VIP", internal=True)
    expected[events.INTERNAL_NOTE_ADDED] = built(events.InternalNoteAdded.from_message(note))
    services.sla_check(ticket_id=ticket.pk, now=ticket.sla_due_at + timedelta(seconds=1))
    breached = Ticket.objects.get(pk=ticket.pk)
    expected[events.SLA_BREACHED] = built(events.SlaBreached.from_ticket(breached))
    reply = services.message_post(ticket=ticket, author=agent, body="On it")
    expected[events.MESSAGE_POSTED] = built(events.MessagePosted.from_message(reply))

    published = {event.type: event.payload for event in Event.objects.order_by("position")}
    assert published == {event_type.name: payload for event_type, payload in expected.items()}
