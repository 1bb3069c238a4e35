"""Replay: deliver archived events again, to every handler now subscribed or to one.

A replayed delivery starts over, as if new: pending, enqueued after commit, and its attempts
back at zero, so that it gets its handler's whole retry policy again. A running delivery is
left alone: resetting it would start its handler a second time while a worker still runs it
(two concurrent POSTs with one ``webhook-id``). Handlers are idempotent, so replaying what
already succeeded repeats only what is safe to repeat. Handlers subscribed after an event was
published get their first delivery of it.
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .conf import event_setting
from .models import Delivery, Event
from .queue import enqueue_deliveries
from .retention import retention_cutoff
from .subscriptions import get_handler, handlers_for

logger = logging.getLogger(__name__)
Status = Delivery.Status
BATCH = 200
# An event type (``support.ticket.created.v1``), or a prefix of one ending in ``*``.
TYPE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{0,120}\*?")


class Replayed(NamedTuple):
    """What a replay did, as the admin, the API and the command report it."""

    events: int
    deliveries: int
    skipped_running: int
    # Set when the range reaches back past retention: events before it may have been pruned.
    kept_since: datetime | None = None

    @property
    def summary(self) -> str:
        text = f"Replayed {self.events} events: {self.deliveries} deliveries queued."
        if self.skipped_running:
            text += f" {self.skipped_running} left alone: a worker is running them."
        if self.kept_since:
            text += (
                f" Events are kept {event_setting('RETENTION_DAYS')} days: those before "
                f"{self.kept_since:%Y-%m-%d %H:%M} UTC may have been pruned."
            )
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


def replay_range(
    *,
    type_pattern: str,
    since: datetime,
    until: datetime | None = None,
    handler: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> Replayed:
    """Replay the events of a type and time range, saying so when the range reaches back past
    what retention keeps."""
    events = select_events(type_pattern=type_pattern, since=since, until=until)
    replayed = replay(events, handler=handler, progress=progress)
    cutoff = retention_cutoff()
    return replayed._replace(kept_since=cutoff) if since < cutoff else replayed


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


class InvalidCriterion(ValueError):
    """A type, time or handler that selects no events: the message says what to give."""


# What selects events to list or replay is read by these three, whether it comes from the API,
# its serializers or the ``replay_events`` command.


def parse_type_pattern(text: str) -> str:
    if not TYPE_PATTERN.fullmatch(text):
        raise InvalidCriterion("Give an event type, or a prefix of one ending in '*'.")
    return text


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date and time (UTC unless it says otherwise), as the database compares it."""
    try:
        moment = parse_datetime(text)
    except ValueError:  # well-formed but impossible, e.g. month 13
        moment = None
    if moment is None:
        raise InvalidCriterion("Give an ISO 8601 date and time.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise InvalidCriterion("Give a time between the years 1 and 9999 in UTC.") from None


def parse_handler(name: str) -> str:
    """The name of a handler subscribed now, in code or as an operator's webhook."""
    try:
        get_handler(name)
    except (KeyError, ValueError):  # ValueError: a webhook name without a subscription id
        raise InvalidCriterion("No handler of this name is subscribed.") from None
    return name
