"""A chain: the events one request caused, each nested under the event whose reaction
published it, with the deliveries that reacted to it.

Operators read it to follow a request to its last reaction: the admin's event page and the
staff chain page render the same tree.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch
from django.utils.html import format_html

from .catalog import EventType
from .models import Delivery, Event


@dataclass
class ChainLink:
    event: Event
    consequences: list["ChainLink"] = field(default_factory=list)


def event_chain(correlation_id: str) -> list[ChainLink]:
    """The chain's first events, oldest first, each holding its consequences. Two queries,
    however long the chain: its events, then their deliveries.

    An event whose cause is gone (pruned past retention) is shown as a first event.
    """
    events = Event.objects.filter(correlation_id=correlation_id).order_by("position")
    deliveries = Prefetch("deliveries", queryset=Delivery.objects.order_by("pk"))
    links = {event.id: ChainLink(event) for event in events.prefetch_related(deliveries)}
    first: list[ChainLink] = []
    for link in links.values():  # in position order: a cause is written before its effects
        cause = links.get(link.event.causation_id)
        (cause.consequences if cause else first).append(link)
    return first


def chain_of(reference: str) -> str | None:
    """The correlation id that ``reference`` names: an event's id (its chain's), or a request
    id as log lines and the ``X-Request-ID`` header show it. None if no event has it."""
    try:
        event = Event.objects.filter(id=uuid.UUID(reference)).first()
    except ValueError:
        event = None
    if event is not None:
        return event.correlation_id or None  # an event older than chains belongs to none
    if Event.objects.filter(correlation_id=reference).exists():
        return reference
    return None


def chain_link(event_type: EventType, text: str, **payload: Any) -> str:
    """A link to the chain of the first ``event_type`` event whose payload matches
    ``payload`` (a ticket's submission: ``ticket_id=12``), for an app's admin page; "-" when
    there is none."""
    match = {f"payload__{name}": value for name, value in payload.items()}
    first = Event.objects.filter(type=event_type.name, **match).order_by("position").first()
    url = first.get_chain_url() if first else ""
    return format_html('<a href="{}">{}</a>', url, text) if url else "-"
