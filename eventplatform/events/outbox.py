"""Publishing: the transactional outbox.

``publish()`` writes the event and one delivery per subscribed handler in the caller's
transaction. Only after that transaction commits are the deliveries enqueued and the event
pushed to its audience; a rollback, including of a savepoint around the call, leaves nothing.
If the process dies between the commit and the enqueue, the reconciler enqueues later.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from .catalog import EventType, Payload, get_event_type
from .models import Delivery, Event, EventAudience
from .queue import enqueue_deliveries
from .realtime.broadcast import broadcast
from .subscriptions import handlers_for

logger = logging.getLogger(__name__)


def publish(event_type: EventType | str, payload: Payload | dict[str, Any]) -> Event:
    """Record ``payload`` as an event of ``event_type``; react to it once the caller commits.

    Raises ``UnknownEventType`` for a type no app declares and ``pydantic.ValidationError``
    (or ``TypeError``) for a payload that does not match the declaration.
    """
    if isinstance(event_type, str):
        event_type = get_event_type(event_type)
    data = event_type.build(payload)
    audience = event_type.groups_for(data)
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            type=event_type.name,
            source=event_type.source,
            time=now,
            payload=data.model_dump(mode="json"),
            audience=audience,
        )
        EventAudience.objects.bulk_create(EventAudience(event=event, group=g) for g in audience)
        deliveries = Delivery.objects.bulk_create(
            Delivery(event=event, handler=h.name, created_at=now, next_attempt_at=now)
            for h in handlers_for(event_type.name)
        )
        delivery_ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: dispatch(event, delivery_ids), robust=True)
    logger.info("published %s", event_type.name, extra={"event_id": str(event.id)})
    return event


def dispatch(event: Event, delivery_ids: list[int]) -> None:
    """After commit: push the event live, then queue the reactions. Each step may fail alone.

    Live first: a reaction runs in a worker within milliseconds and pushes events of its own
    (a ticket prioritized), which must not overtake the event that caused them.
    """
    if event.audience:
        try:
            broadcast(event)
        except Exception:
            logger.exception("could not push %s live; sockets get it when they resume", event.id)
    try:
        enqueue_deliveries(delivery_ids)
    except Exception:
        logger.exception("could not enqueue deliveries of %s; the reconciler will", event.id)
