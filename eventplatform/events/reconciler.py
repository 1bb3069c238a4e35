"""The safety net: re-enqueue deliveries that the normal path lost.

The Redis broker has no receipts and ``on_commit`` callbacks die with their process, so a
periodic job (a django-q2 schedule, once a minute) finds three kinds of stranded delivery:

- failed deliveries whose retry is due (retries wait here for their back-off to pass);
- pending deliveries never enqueued (the process died between commit and enqueue), or
  enqueued so long ago that the task must have been lost (Redis restarted);
- running deliveries whose lease expired (the worker was killed mid-task).

A delivery enqueued twice still runs once: the task claims it first.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import Delivery
from .queue import enqueue_deliveries

Status = Delivery.Status

# A task still queued after this long is presumed lost and enqueued again.
STALE_ENQUEUE = timedelta(minutes=10)
BATCH = 500


def stranded(now: datetime) -> dict[str, "Q"]:
    grace = timedelta(seconds=settings.EVENTS["ENQUEUE_GRACE"])
    lost = Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - STALE_ENQUEUE)
    return {
        "retry_due": Q(status=Status.FAILED, next_attempt_at__lte=now)
        & (lost | Q(enqueued_at__lt=F("next_attempt_at"))),
        "never_enqueued": Q(status=Status.PENDING, next_attempt_at__lte=now - grace) & lost,
        "lease_expired": Q(status=Status.RUNNING, lease_expires_at__lte=now)
        & (lost | Q(enqueued_at__lt=F("lease_expires_at"))),
    }


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """Enqueue every stranded delivery; return how many of each kind."""
    now = now or timezone.now()
    counts = {}
    for reason, condition in stranded(now).items():
        ids = list(
            Delivery.objects.filter(condition)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:BATCH]
        )
        enqueue_deliveries(ids, now=now)
        counts[reason] = len(ids)
    return counts
