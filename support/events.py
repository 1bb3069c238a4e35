"""The event types of the support app.

Payloads carry what a live page needs to render a queue row or a message without another
request. A customer's own group sees their ticket's public events; internal notes have their
own type, addressed to agents alone, so no customer channel can carry one.
"""

from datetime import datetime

from eventplatform.events import EventType, Payload, user_group

from .audience import AGENTS


class TicketCreated(Payload):
    ticket_id: int
    reference: str
    subject: str
    customer_id: int
    customer_name: str
    status: str
    priority: str
    created_at: datetime


class TicketPrioritized(Payload):
    ticket_id: int
    customer_id: int
    priority: str
    sla_due_at: datetime | None
    # No reason: the customer sees this event, and the rule names are the operators' business.


class TicketAssigned(Payload):
    ticket_id: int
    customer_id: int
    assignee_id: int | None
    assignee_name: str


class TicketStatusChanged(Payload):
    ticket_id: int
    customer_id: int
    status: str
    previous_status: str


class MessagePosted(Payload):
    ticket_id: int
    customer_id: int
    message_id: int
    author_id: int
    author_name: str
    from_agent: bool
    body: str
    created_at: datetime


class InternalNoteAdded(Payload):
    ticket_id: int
    message_id: int
    author_id: int
    author_name: str
    body: str
    created_at: datetime


class SlaBreached(Payload):
    ticket_id: int
    reference: str
    subject: str
    customer_name: str
    priority: str
    sla_due_at: datetime | None


def _agents_and_customer(payload) -> list:
    return [AGENTS, user_group(payload.customer_id)]


def _agents(payload) -> list:
    return [AGENTS]


TICKET_CREATED = EventType(
    "support.ticket.created.v1",
    TicketCreated,
    audience=_agents_and_customer,
    description="A customer submitted a ticket.",
)
TICKET_PRIORITIZED = EventType(
    "support.ticket.prioritized.v1",
    TicketPrioritized,
    audience=_agents_and_customer,
    description="A ticket's priority and first-response due time were set, by rules or an agent.",
)
TICKET_ASSIGNED = EventType(
    "support.ticket.assigned.v1",
    TicketAssigned,
    audience=_agents_and_customer,
    description="A ticket was assigned to an agent, or unassigned.",
)
TICKET_STATUS_CHANGED = EventType(
    "support.ticket.status_changed.v1",
    TicketStatusChanged,
    audience=_agents_and_customer,
    description="A ticket moved to another status (open, pending, resolved, closed).",
)
MESSAGE_POSTED = EventType(
    "support.ticket.message_posted.v1",
    MessagePosted,
    audience=_agents_and_customer,
    description="The customer or an agent posted a public message on a ticket.",
)
INTERNAL_NOTE_ADDED = EventType(
    "support.ticket.note_added.v1",
    InternalNoteAdded,
    audience=_agents,
    description="An agent added an internal note, which customers never see.",
)
SLA_BREACHED = EventType(
    "support.ticket.sla_breached.v1",
    SlaBreached,
    audience=_agents,
    description="A ticket's first-response due time passed without an agent reply.",
)
