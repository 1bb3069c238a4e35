"""Retention: events age out of the outbox once everything they caused has finished.

An event older than ``EVENTS["RETENTION_DAYS"]`` is deleted with its audience rows and its
deliveries, in batches, when none of its deliveries still has work to do (pending, running, or
failed with a retry scheduled). Dead letters are kept for an operator to look at unless the
caller asks for them to go too. A daily schedule prunes; ``manage.py prune_events`` does it on
demand.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .conf import event_setting
from .models import Delivery, Event, EventAudience

logger = logging.getLogger(__name__)
Status = Delivery.Status
UNFINISHED = (Status.PENDING, Status.RUNNING, Status.FAILED)
BATCH = 1000


class Pruned(NamedTuple):
    events: int
    deliveries: int
    audiences: int

    @property
    def summary(self) -> str:
        return (
            f"Deleted {self.events} events, {self.deliveries} deliveries and "
            f"{self.audiences} audience rows."
        )


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Events before this moment may have been pruned."""
    return (now or timezone.now()) - timedelta(days=event_setting("RETENTION_DAYS"))


def prunable(before: datetime, *, dead_letters: bool = False) -> QuerySet[Event]:
    """Events published before ``before`` that nothing is still working on."""
    keep = UNFINISHED if dead_letters else (*UNFINISHED, Status.DEAD)
    held = Delivery.objects.filter(event=OuterRef("pk"), status__in=keep)
    return Event.objects.filter(time__lt=before).exclude(Exists(held))


def prune(
    before: datetime,
    *,
    dead_letters: bool = False,
    batch_size: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> Pruned:
    """Delete what ``prunable`` selects, oldest first, one transaction per batch."""
    events = prunable(before, dead_letters=dead_letters)
    total = events.count()
    deleted = Pruned(0, 0, 0)
    while True:
        with transaction.atomic():
            batch = list(events.order_by("position").values_list("pk", flat=True)[:batch_size])
            if not batch:
                break
            deleted = Pruned(
                deleted.events + len(batch),
                deleted.deliveries + Delivery.objects.filter(event__in=batch).delete()[0],
                deleted.audiences + EventAudience.objects.filter(event__in=batch).delete()[0],
            )
            Event.objects.filter(pk__in=batch).delete()
        if progress:
            progress(min(deleted.events, total), total)
    return deleted


def prune_expired() -> str:
    """The daily schedule: prune what is past retention, keeping dead letters."""
    pruned = prune(retention_cutoff())
    logger.info("event retention: %s", pruned.summary)
    return pruned.summary
