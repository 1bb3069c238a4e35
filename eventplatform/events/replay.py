"""Replay: deliver archived events again, to every handler now subscribed or to one.

A replayed delivery is reset to pending and enqueued after commit, like a new one; handlers
are idempotent, so replaying what already succeeded repeats only what is safe to repeat.
Handlers subscribed after an event was published get their first delivery of it.
"""

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Delivery, Event
from .queue import enqueue_deliveries
from .subscriptions import handlers_for

BATCH = 200


def replay(
    events: QuerySet[Event],
    *,
    handler: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Replay ``events`` (oldest first); return (events, deliveries) replayed."""
    total = events.count()
    done = deliveries = 0
    batch: list[Event] = []
    for event in events.order_by("position").iterator(chunk_size=BATCH):
        batch.append(event)
        if len(batch) == BATCH:
            deliveries += _replay_batch(batch, handler)
            done += len(batch)
            batch = []
            if progress:
                progress(done, total)
    if batch:
        deliveries += _replay_batch(batch, handler)
        done += len(batch)
        if progress:
            progress(done, total)
    return done, deliveries


def _replay_batch(events: Iterable[Event], handler: str) -> int:
    now = timezone.now()
    ids = []
    with transaction.atomic():
        for event in events:
            for subscribed in handlers_for(event.type):
                if handler and subscribed.name != handler:
                    continue
                delivery, _ = Delivery.objects.update_or_create(
                    event=event,
                    handler=subscribed.name,
                    defaults={
                        "status": Delivery.Status.PENDING,
                        "next_attempt_at": now,
                        "lease_expires_at": None,
                        "enqueued_at": None,
                    },
                )
                ids.append(delivery.pk)
        transaction.on_commit(lambda: enqueue_deliveries(ids), robust=True)
    return len(ids)


def select_events(
    events: QuerySet[Event] | None = None, *, type_pattern: str = "", since=None, until=None
) -> QuerySet[Event]:
    """Events by type (exact, or a prefix ending in ``*``) and time range."""
    events = Event.objects.all() if events is None else events
    if type_pattern.endswith("*"):
        events = events.filter(type__startswith=type_pattern[:-1])
    elif type_pattern:
        events = events.filter(type=type_pattern)
    if since:
        events = events.filter(time__gte=since)
    if until:
        events = events.filter(time__lt=until)
    return events
