"""Recovery: find the deliveries the normal path lost or must start later, and enqueue them.

The scheduler runs ``reconcile()`` every second. The Redis broker has no receipts, an
``on_commit`` callback dies with its process, and a cluster killed or replaced loses what it
held, so four kinds of delivery are enqueued here:

- failed deliveries whose retry is due (a retry waits here for its back-off to pass);
- pending deliveries never enqueued (the process died between commit and enqueue): the
  outbox writes the enqueue time with the row, so these are told apart by their absence
  from the queue;
- running deliveries whose lease expired (the worker died mid-task; a live worker renews it),
  or whose cluster a supervisor killed (no need to wait for the lease);
- deliveries whose task left the queue and never started: a cluster pulled it and was
  killed (at once when its supervisor killed it, else after some seconds), or Redis
  restarted empty.

They go to the head of the queue: they have waited already. A delivery enqueued twice still
runs once: the task claims it first.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import F, Min, Q
from django.utils import timezone

from .conf import event_setting
from .delivery import claimable, lease
from .models import Delivery
from .queue import enqueue_deliveries, queued_delivery_ids, sent_events
from .supervisor import replaced_clusters

Status = Delivery.Status
# Every delivery recovery may enqueue or wait for is in one of these.
UNFINISHED = [Status.PENDING, Status.RUNNING, Status.FAILED]
BATCH = 500
JUST_KILLED = timedelta(seconds=1)


def grace(name: str) -> timedelta:
    return timedelta(seconds=event_setting(name))


def stranded(now: datetime) -> dict[str, Q]:
    """Due deliveries not enqueued since they became due, by why."""
    return {
        "retry_due": Q(status=Status.FAILED, next_attempt_at__lte=now)
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("next_attempt_at"))),
        "lease_expired": Q(status=Status.RUNNING, lease_expires_at__lte=now)
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("lease_expires_at"))),
    }


def unqueued(now: datetime, last_kill: datetime) -> dict[str, Q]:
    """Due deliveries that should have a task on its way, by why: those whose task is not in
    the queue are enqueued again.

    ``never_enqueued``: the outbox writes a delivery's enqueue time with the row, for the
    enqueue that follows its commit, and never updates it; a pending delivery still showing
    its creation time (or no time, when an operator's retry or replay died before its
    enqueue) ``ENQUEUE_GRACE`` after it was due is one whose task may never have been sent.
    It was, if the sender marked its event sent (``queue.mark_sent``): a cluster may have
    pulled it and not started it yet, which the next rule gives more time.

    ``lost_in_transit``: a task out of the queue for a while will not start. In the first
    tick after a cluster was killed, one out of the queue since before the kill will not
    either: the cluster started in its place has not pulled anything yet (it takes longer
    than that to boot), so what is missing was held by the dead one.
    """
    cutoff = now - grace("DEQUEUE_GRACE")
    if now - last_kill < JUST_KILLED:
        cutoff = max(cutoff, last_kill)
    return {
        "never_enqueued": Q(
            status=Status.PENDING, next_attempt_at__lte=now - grace("ENQUEUE_GRACE")
        )
        & (Q(enqueued_at__isnull=True) | Q(enqueued_at=F("created_at"))),
        "lost_in_transit": claimable(now) & Q(enqueued_at__lt=cutoff),
    }


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """Enqueue every stranded or lost delivery; return how many of each kind."""
    now = now or timezone.now()
    replaced = replaced_clusters()
    # A cluster killed less than a lease ago may hold claims: they need not wait to lapse.
    recently = [c for c, at in replaced.items() if now.timestamp() - at < lease().total_seconds()]
    if recently:
        Delivery.objects.filter(
            status=Status.RUNNING, claimed_by__in=recently, lease_expires_at__gt=now
        ).update(lease_expires_at=now)
    counts = {}
    for reason, condition in stranded(now).items():
        ids = _oldest_first(Delivery.objects.filter(condition))
        enqueue_deliveries(ids, now=now, first=True)
        counts[reason] = len(ids)
    last_kill = datetime.fromtimestamp(max(replaced.values(), default=0), tz=UTC)
    counts.update(_enqueue_missing(now, last_kill))
    return counts


def any_unfinished() -> bool:
    """Whether any delivery is pending, running or failed: if none is, there is nothing to
    recover and no retry to wait for. One query that reads an index and no row (the partial
    index ``delivery_due`` on PostgreSQL, the status index on SQLite), so that an idle
    platform's tick costs that and no more."""
    return Delivery.objects.filter(status__in=UNFINISHED).exists()


def seconds_to_next_retry(now: datetime) -> float | None:
    """How long until the next failed delivery is due again, if one is waiting."""
    due = Delivery.objects.filter(status=Status.FAILED, next_attempt_at__gt=now).aggregate(
        first=Min("next_attempt_at")
    )["first"]
    return (due - now).total_seconds() if due else None


def _enqueue_missing(now: datetime, last_kill: datetime) -> dict[str, int]:
    # Read the deliveries before the queue: one pulled in between looks missing and is
    # enqueued again, which is harmless; one read after the queue could be missed for good.
    rules = unqueued(now, last_kill)
    unsent = _oldest_first(Delivery.objects.filter(rules["never_enqueued"]), "event__id")
    sent = sent_events({event for _, event in unsent})
    waiting = {
        "never_enqueued": [pk for pk, event in unsent if event not in sent],
        "lost_in_transit": _oldest_first(Delivery.objects.filter(rules["lost_in_transit"])),
    }
    if not any(waiting.values()):
        return dict.fromkeys(waiting, 0)
    queued = queued_delivery_ids()
    counts = {}
    for reason, ids in waiting.items():
        missing = [pk for pk in ids if pk not in queued]
        queued.update(missing)  # a delivery missing for both reasons goes once
        enqueue_deliveries(missing, now=now, first=True)
        counts[reason] = len(missing)
    return counts


def _oldest_first(deliveries, *also: str) -> list:
    """The ids of the oldest due deliveries (with ``also``'s values, when given)."""
    deliveries = deliveries.order_by("next_attempt_at")
    if also:
        return list(deliveries.values_list("pk", *also)[:BATCH])
    return list(deliveries.values_list("pk", flat=True)[:BATCH])
