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
from functools import cache
from typing import Any

from django.db import connection, transaction
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
    handler_names = [h.name for h in handlers_for(event_type.name)]
    now = timezone.now()
    event = Event(
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
    # No savepoint: publish runs inside its caller's transaction (a model save in a service),
    # and if a write here fails, that whole transaction fails with it. A savepoint the caller
    # rolls back still takes these rows and the on-commit reaction with it.
    with transaction.atomic(savepoint=False):
        delivery_ids = _write(event, handler_names)
        transaction.on_commit(lambda: dispatch(event, delivery_ids), robust=True)
    logger.info("published %s", event_type.name, extra={"event_id": str(event.id)})
    return event


def _write(event: Event, handler_names: list[str]) -> list[int]:
    """Insert ``event``, its audience rows and one delivery per handler; the deliveries' ids.

    Each delivery is enqueued as the transaction commits: its enqueue time is written now
    rather than updated after the enqueue. One whose enqueue time is still its creation time
    is one the reconciler checks (``reconciler.unqueued``).
    """
    now = event.time
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        EventAudience.objects.bulk_create(
            EventAudience(event=event, group=g) for g in event.audience
        )
        deliveries = Delivery.objects.bulk_create(
            Delivery(event=event, handler=h, created_at=now, enqueued_at=now, next_attempt_at=now)
            for h in handler_names
        )
        return [d.pk for d in deliveries]
    # On PostgreSQL one statement, the event's INSERT feeding the others: the outbox costs the
    # publishing transaction one round trip, and the database one statement to plan.
    template = Delivery(created_at=now, enqueued_at=now, next_attempt_at=now)
    statement = _insert_statement()
    params = [
        *(f.get_db_prep_save(getattr(event, f.attname), connection) for f in _event_values()),
        list(event.audience),
        *(f.get_db_prep_save(getattr(template, f.attname), connection) for f in _delivery_values()),
        handler_names,
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        event.position, event.transaction_id, event.oldest_open_transaction, ids = cursor.fetchone()
    event._state.adding, event._state.db = False, connection.alias
    return ids


@cache
def _event_values() -> tuple:
    """The event's columns the INSERT writes: all but its position and those the database
    computes (``db_default``)."""
    return tuple(
        f for f in Event._meta.concrete_fields if not f.primary_key and not f.has_db_default()
    )


@cache
def _delivery_values() -> tuple:
    """A new delivery's columns besides its id, event and handler: the same for every
    delivery of an event."""
    return tuple(
        f for f in Delivery._meta.concrete_fields if f.name not in {"id", "event", "handler"}
    )


@cache
def _insert_statement() -> str:
    """PostgreSQL's outbox INSERT. Its parameters, in order: the event's values
    (``_event_values``), its groups, a delivery's values (``_delivery_values``), the
    handlers' names."""
    q = connection.ops.quote_name
    position = q(Event._meta.pk.column)

    def columns(fields) -> str:
        return ", ".join(q(f.column) for f in fields)

    event_fields, delivery_fields = _event_values(), _delivery_values()
    # Typed placeholders: in INSERT ... SELECT a bare NULL would be read as text.
    delivery_row = ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in delivery_fields)
    return (
        f"WITH event AS (INSERT INTO {q(Event._meta.db_table)} ({columns(event_fields)}) "
        f"VALUES ({', '.join(['%s'] * len(event_fields))}) RETURNING {position}, "
        f"{q('transaction_id')}, {q('oldest_open_transaction')}), "
        f"audience AS (INSERT INTO {q(EventAudience._meta.db_table)} "
        f"({q('event_id')}, {q('group')}) SELECT event.{position}, audience.name "
        f"FROM event, unnest(CAST(%s AS text[])) AS audience(name)), "
        f"delivery AS (INSERT INTO {q(Delivery._meta.db_table)} "
        f"({q('event_id')}, {q('handler')}, {columns(delivery_fields)}) "
        f"SELECT event.{position}, handler.name, {delivery_row} "
        f"FROM event, unnest(CAST(%s AS text[])) WITH ORDINALITY AS handler(name, number) "
        f"ORDER BY handler.number RETURNING {q('id')}) "
        f"SELECT event.*, ARRAY(SELECT {q('id')} FROM delivery ORDER BY {q('id')}) FROM event"
    )


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
