"""Retention: events age out of the outbox once everything they caused has finished.

An event older than ``EVENTS["RETENTION_DAYS"]`` is deleted with its audience rows, its
deliveries and their attempts, in batches, when none of its deliveries still has work to do
(pending, running, or failed with a retry scheduled). Dead letters are kept for an operator to
look at unless the caller asks for them to go too. A daily schedule prunes;
``manage.py prune_events`` does it on demand.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .conf import event_setting
from .health import HEALTH_CHANGED
from .models import Delivery, DeliveryAttempt, Event, EventAudience

logger = logging.getLogger(__name__)
Status = Delivery.Status
UNFINISHED = (Status.PENDING, Status.RUNNING, Status.FAILED)
BATCH = 1000
SNAPSHOTS_KEPT = timedelta(days=1)


class Pruned(NamedTuple):
    events: int
    deliveries: int
    attempts: int
    audiences: int

    @property
    def summary(self) -> str:
        return (
            f"Deleted {self.events} events, {self.deliveries} deliveries with "
            f"{self.attempts} attempts and {self.audiences} audience rows."
        )


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Events before this moment may have been pruned."""
    return (now or timezone.now()) - timedelta(days=event_setting("RETENTION_DAYS"))


def prunable(
    before: datetime, *, dead_letters: bool = False, event_type: str = ""
) -> QuerySet[Event]:
    """Events published before ``before`` (of ``event_type`` only, if given) that nothing is
    still working on."""
    keep = UNFINISHED if dead_letters else (*UNFINISHED, Status.DEAD)
    held = Delivery.objects.filter(event=OuterRef("pk"), status__in=keep)
    events = Event.objects.filter(time__lt=before).exclude(Exists(held))
    return events.filter(type=event_type) if event_type else events


def prune(
    before: datetime,
    *,
    dead_letters: bool = False,
    event_type: str = "",
    batch_size: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> Pruned:
    """Delete what ``prunable`` selects, oldest first, one transaction per batch."""
    events = prunable(before, dead_letters=dead_letters, event_type=event_type)
    total = events.count()
    deleted = Pruned(0, 0, 0, 0)
    while True:
        with transaction.atomic():
            candidates = events.order_by("position").values_list("pk", flat=True)[:batch_size]
            candidates = list(candidates)
            if not candidates:
                break
            # Hold their deliveries, then look again: a replay that committed meanwhile made
            # some pending, and those events stay (a later replay finds the others gone).
            list(Delivery.objects.select_for_update().filter(event__in=candidates).values("pk"))
            batch = list(events.filter(pk__in=candidates).values_list("pk", flat=True))
            # Attempts first, so that each count is of its own rows, not of what cascades.
            attempts = DeliveryAttempt.objects.filter(delivery__event__in=batch).delete()[0]
            deleted = Pruned(
                deleted.events + len(batch),
                deleted.deliveries + Delivery.objects.filter(event__in=batch).delete()[0],
                deleted.attempts + attempts,
                deleted.audiences + EventAudience.objects.filter(event__in=batch).delete()[0],
            )
            Event.objects.filter(pk__in=batch).delete()
        if progress:
            progress(min(deleted.events, total), total)
    return deleted


def prune_expired() -> str:
    """The daily schedule: prune what is past retention, keeping dead letters, and the
    event health snapshots of past days (each supersedes the last: pages load the current
    figures, and a socket resuming needs only the newest)."""
    pruned = prune(retention_cutoff())
    snapshots = prune(timezone.now() - SNAPSHOTS_KEPT, event_type=HEALTH_CHANGED.name)
    summary = f"{pruned.summary} Health snapshots: {snapshots.events} deleted."
    logger.info("event retention: %s", summary)
    return summary
