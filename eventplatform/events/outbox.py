"""Publishing: the transactional outbox.

``publish()`` writes the event and one delivery per subscribed handler in the caller's
transaction. Only after that transaction commits are the deliveries enqueued and the event
pushed to its audience; a rollback, including of a savepoint around the call, leaves nothing.
If the process dies between the commit and the enqueue, the reconciler enqueues later.

Each event records the chain it belongs to: the request that caused it (its correlation id, as
the logs carry it) and, when a handler published it, the event that handler reacted to.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.utils import timezone

from eventplatform.logging import correlation_id, new_correlation_id

from .catalog import EventType, Payload, get_event_type
from .models import Delivery, Event, EventAudience
from .queue import mark_sent, pipeline, queue_tasks
from .realtime.broadcast import broadcast
from .subscriptions import handlers_for

logger = logging.getLogger(__name__)
# The event whose handler is running, set by ``caused_by``.
causation_id: ContextVar[uuid.UUID | None] = ContextVar("causation_id", default=None)


@contextmanager
def caused_by(event: Event) -> Iterator[None]:
    """Events published in the block are ``event``'s consequences, in its chain; the block's
    log lines name the chain's request."""
    correlation = correlation_id.set(event.correlation_id)
    causation = causation_id.set(event.id)
    try:
        yield
    finally:
        causation_id.reset(causation)
        correlation_id.reset(correlation)


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
    # No savepoint: publish runs inside its caller's transaction (a model save in a service),
    # and if a write here fails, that whole transaction fails with it. A savepoint the caller
    # rolls back still takes these rows and the on-commit reaction with it.
    with transaction.atomic(savepoint=False):
        event = Event.objects.create(
            type=event_type.name,
            source=event_type.source,
            time=now,
            payload=data.model_dump(mode="json"),
            audience=audience,
            # Outside any request or delivery (a shell, a command, the scheduler), an event
            # starts a chain of its own.
            correlation_id=correlation_id.get() or new_correlation_id(),
            causation_id=causation_id.get(),
        )
        EventAudience.objects.bulk_create(EventAudience(event=event, group=g) for g in audience)
        # Enqueued as the transaction commits: the time is written now rather than updated
        # after the enqueue. A delivery whose enqueue time is still its creation time is one
        # the reconciler checks (``reconciler.unqueued``).
        deliveries = Delivery.objects.bulk_create(
            Delivery(
                event=event, handler=h.name, created_at=now, enqueued_at=now, next_attempt_at=now
            )
            for h in handlers_for(event_type.name)
        )
        delivery_ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: dispatch(event, delivery_ids), robust=True)
    logger.info("published %s", event_type.name, extra={"event_id": str(event.id)})
    return event


def dispatch(event: Event, delivery_ids: list[int]) -> None:
    """After commit: push the event live, then queue the reactions. Each step may fail alone.

    Live first: a reaction runs in a worker within milliseconds and pushes events of its own
    (a ticket prioritized), which must not overtake the event that caused them. The tasks go
    in one pipeline: one round trip to Redis whatever their number.
    """
    if event.audience:
        try:
            broadcast(event)
        except Exception:
            logger.exception("could not push %s live; sockets get it when they resume", event.id)
    if not delivery_ids:
        return
    try:
        tasks = pipeline()
        queue_tasks(tasks, delivery_ids)
        mark_sent(tasks, event.id)
        tasks.execute()
    except Exception:
        logger.exception("could not enqueue deliveries of %s; the reconciler will", event.id)
