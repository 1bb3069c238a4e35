"""The event types of the support app.

Payloads carry what a live page needs to render a queue row or a message without another
request, and each is built from its ticket or message in one place, its ``from_`` method. A
customer's own group sees their ticket's public events; internal notes have their own type,
addressed to agents alone, so no customer channel can carry one.
"""

from datetime import datetime
from typing import Literal

from eventplatform.events import EventType, Payload, user_group
from eventplatform.users import display_name

from .audience import AGENTS
from .models import Message, Ticket


class TicketCreated(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    reference: str
    """The ticket's reference as customers see it, e.g. T-00012."""
    subject: str
    """The ticket's subject, one line as the customer typed it."""
    customer_id: int
    """The customer who submitted the ticket."""
    customer_name: str
    """The customer's display name."""
    status: str
    """The ticket's status: open, pending, resolved or closed."""
    priority: str
    """The ticket's priority: low, normal, high or urgent."""
    created_at: datetime
    """When it was created."""
    channel: Literal["web", "api", "email"] | None = None
    """How it reached the platform: web, api or email (null in events recorded before the
    platform kept channels)."""

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> "TicketCreated":
        return cls(
            ticket_id=ticket.pk,
            reference=ticket.reference,
            subject=ticket.subject,
            customer_id=ticket.customer_id,
            customer_name=display_name(ticket.customer),
            status=ticket.status,
            priority=ticket.priority,
            created_at=ticket.created_at,
            channel=ticket.channel,
        )


class TicketPrioritised(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    customer_id: int
    """The customer who submitted the ticket."""
    priority: str
    """The ticket's priority: low, normal, high or urgent."""
    sla_due_at: datetime | None
    """When the first agent reply is due; null when no target applies."""
    # No reason: the customer sees this event, and the rule names are the operators' business.

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> "TicketPrioritised":
        return cls(
            ticket_id=ticket.pk,
            customer_id=ticket.customer_id,
            priority=ticket.priority,
            sla_due_at=ticket.sla_due_at,
        )


class TicketAssigned(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    customer_id: int
    """The customer who submitted the ticket."""
    assignee_id: int | None
    """The agent it is assigned to; null when unassigned."""
    assignee_name: str
    """The assigned agent's display name; empty when unassigned."""

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> "TicketAssigned":
        return cls(
            ticket_id=ticket.pk,
            customer_id=ticket.customer_id,
            assignee_id=ticket.assignee_id,
            assignee_name=display_name(ticket.assignee),
        )


class TicketStatusChanged(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    customer_id: int
    """The customer who submitted the ticket."""
    status: str
    """The ticket's status: open, pending, resolved or closed."""
    previous_status: str
    """The status it had before this change."""

    @classmethod
    def from_ticket(cls, ticket: Ticket, *, previous_status: str) -> "TicketStatusChanged":
        return cls(
            ticket_id=ticket.pk,
            customer_id=ticket.customer_id,
            status=ticket.status,
            previous_status=previous_status,
        )


class MessagePosted(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    customer_id: int
    """The customer who submitted the ticket."""
    message_id: int
    """The message's id."""
    author_id: int
    """Who wrote it."""
    author_name: str
    """The author's display name."""
    from_agent: bool
    """True when an agent wrote it, false when the customer did."""
    body: str
    """The text, as written (plain text, never HTML)."""
    created_at: datetime
    """When it was created."""
    channel: Literal["web", "api", "email"] | None = None
    """How it reached the platform: web, api or email (null in events recorded before the
    platform kept channels)."""

    @classmethod
    def from_message(cls, message: Message) -> "MessagePosted":
        return cls(
            ticket_id=message.ticket_id,
            customer_id=message.ticket.customer_id,
            message_id=message.pk,
            author_id=message.author_id,
            author_name=display_name(message.author),
            from_agent=message.from_agent,
            body=message.body,
            created_at=message.created_at,
            channel=message.channel,
        )


class InternalNoteAdded(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    message_id: int
    """The message's id."""
    author_id: int
    """Who wrote it."""
    author_name: str
    """The author's display name."""
    body: str
    """The note's text (agents only; never on a customer's stream)."""
    created_at: datetime
    """When it was created."""
    channel: Literal["web", "api", "email"] | None = None
    """How it reached the platform: web, api or email (null in events recorded before the
    platform kept channels)."""

    @classmethod
    def from_message(cls, message: Message) -> "InternalNoteAdded":
        return cls(
            ticket_id=message.ticket_id,
            message_id=message.pk,
            author_id=message.author_id,
            author_name=display_name(message.author),
            body=message.body,
            created_at=message.created_at,
            channel=message.channel,
        )


class SlaBreached(Payload):
    ticket_id: int
    """The ticket's id (`/api/v1/tickets/{id}/`)."""
    reference: str
    """The ticket's reference as customers see it, e.g. T-00012."""
    subject: str
    """The ticket's subject, one line as the customer typed it."""
    customer_name: str
    """The customer's display name."""
    priority: str
    """The ticket's priority when its target passed."""
    sla_due_at: datetime | None
    """When the first agent reply is due; null when no target applies."""

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> "SlaBreached":
        return cls(
            ticket_id=ticket.pk,
            reference=ticket.reference,
            subject=ticket.subject,
            customer_name=display_name(ticket.customer),
            priority=ticket.priority,
            sla_due_at=ticket.sla_due_at,
        )


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
# The published name keeps its original spelling: it is a contract with subscribers.
TICKET_PRIORITISED = EventType(
    "support.ticket.prioritized.v1",
    TicketPrioritised,
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


class EmailReceived(Payload):
    inbound_mail_id: int
    """The stored inbound email (in the admin under Inbound emails)."""
    message_id: str
    """Its Message-ID header; the same one twice is stored once."""
    from_address: str
    """The sender's address, lower-cased; empty when the mail named none."""
    transport: str
    """How it arrived: smtp, lmtp, or the email provider whose webhook delivered it."""


EMAIL_RECEIVED = EventType(
    "support.email.received.v1",
    EmailReceived,
    # No audience: what agents see live is the ticket or message the processing makes.
    description="An email to the support address was stored; processing it is its delivery.",
)
