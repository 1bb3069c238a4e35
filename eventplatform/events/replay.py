"""Replay: deliver archived events again, to every handler now subscribed or to one.

A replayed delivery starts over, as if new: pending, enqueued after commit, and its attempts
back at zero, so that it gets its handler's whole retry policy again. A running delivery is
left alone: resetting it would start its handler a second time while a worker still runs it
(two concurrent POSTs with one ``webhook-id``). Handlers are idempotent, so replaying what
already succeeded repeats only what is safe to repeat. Handlers subscribed after an event was
published get their first delivery of it.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Delivery, Event
from .queue import enqueue_deliveries
from .subscriptions import handlers_for

logger = logging.getLogger(__name__)
Status = Delivery.Status
BATCH = 200


class Replayed(NamedTuple):
    """What a replay did, as the admin, the API and the command report it."""

    events: int
    deliveries: int
    skipped_running: int

    @property
    def summary(self) -> str:
        text = f"Replayed {self.events} events: {self.deliveries} deliveries queued."
        if self.skipped_running:
            text += f" {self.skipped_running} left alone: a worker is running them."
        return text


def replay(
    events: QuerySet[Event],
    *,
    handler: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> Replayed:
    """Replay ``events`` (oldest first), one transaction per batch."""
    total = events.count()
    done = queued = running = 0
    for batch in _batches(events.order_by("position").iterator(chunk_size=BATCH)):
        batch_queued, batch_running = _replay_batch(batch, handler)
        done += len(batch)
        queued += batch_queued
        running += batch_running
        if progress:
            progress(done, total)
    return Replayed(done, queued, running)


def _batches(events: Iterator[Event]) -> Iterator[list[Event]]:
    batch = []
    for event in events:
        batch.append(event)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _replay_batch(events: Iterable[Event], handler: str) -> tuple[int, int]:
    """Start the events' deliveries over; return how many were queued and how many skipped."""
    now = timezone.now()
    start_over = {
        "status": Status.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_expires_at": None,
        "enqueued_at": None,
        "replayed_at": now,
    }
    queued = []
    running = 0
    with transaction.atomic():
        for event in events:
            for subscribed in handlers_for(event.type):
                if handler and subscribed.name != handler:
                    continue
                delivery, created = Delivery.objects.get_or_create(
                    event=event, handler=subscribed.name, defaults=start_over
                )
                # A compare-and-set, so that a worker claiming it meanwhile keeps it.
                if not created and not (
                    Delivery.objects.filter(pk=delivery.pk)
                    .exclude(status=Status.RUNNING)
                    .update(**start_over)
                ):
                    running += 1
                    continue
                queued.append(delivery.pk)
                logger.info(
                    "delivery %s of %s by %s replayed",
                    delivery.pk,
                    event.type,
                    subscribed.name,
                    extra={"event_id": str(event.id)},
                )
        transaction.on_commit(lambda: enqueue_deliveries(queued), robust=True)
    return len(queued), running


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
