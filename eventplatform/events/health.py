"""Event health: the figures operators watch, as one snapshot.

The health page renders a snapshot, and the scheduler publishes a new one to operators
(``events.health.changed.v1``) when it differs from the last, so the page follows without
reloading. A snapshot holds no reading that changes by the clock alone: a heartbeat that beats
reads as beating, a silent one as the moment it fell silent, and the oldest pending delivery as
the moment it was created. The page counts the ages from those, so an idle platform publishes
nothing.

Building one costs three queries whatever the number of handlers (one aggregate per window, one
for the dead letters and the oldest pending delivery) and one Redis round trip; the cost grows
with the day's deliveries: docs/operations.md, "Event health", has the measurements.
"""

import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Min, Q, Window
from django.db.models.functions import CumeDist
from django.db.models.lookups import IsNull
from django.utils import timezone
from redis.client import Pipeline
from redis.exceptions import RedisError

from .audience import OPERATORS
from .catalog import EventType, Payload
from .models import Delivery
from .queue import broker
from .supervisor import HEARTBEAT_EXPIRY, heartbeats_key

Status = Delivery.Status
WINDOWS = {"last_hour": timedelta(hours=1), "last_day": timedelta(days=1)}
# A cluster silent this long is gone, not late: its supervisor died without saying so.
FORGET_SILENT_AFTER = timedelta(days=1)


class HandlerFigures(Payload):
    handler: str
    succeeded: int
    failed: int
    """Failed attempts awaiting their retry."""
    dead: int
    skipped: int
    success_rate: int | None
    """Percent of the finished deliveries (succeeded, failed or dead) that succeeded."""
    p50_ms: int | None
    """Median duration of the successful deliveries."""
    p95_ms: int | None


class Heartbeat(Payload):
    name: str
    """The process, as "host:pid"."""
    silent_since: datetime | None
    """Its last beat, once it stopped beating; none while it beats."""


class HealthSnapshot(Payload):
    last_hour: list[HandlerFigures]
    """Per handler, the deliveries created in the last hour."""
    last_day: list[HandlerFigures]
    """Per handler, the deliveries created in the last 24 hours."""
    queue_depth: int | None
    """Tasks waiting in the queue; none when Redis cannot be reached."""
    dead_letters: int
    """Dead letters of any age, waiting for an operator."""
    oldest_pending_since: datetime | None
    """When the oldest delivery not yet run was created."""
    scheduler: str | None
    """The active scheduler ("host:pid"); none when no scheduler holds the lock."""
    clusters: list[Heartbeat]
    """The worker clusters' supervisors, by their heartbeat."""


HEALTH_CHANGED = EventType(
    "events.health.changed.v1",
    HealthSnapshot,
    audience=lambda snapshot: [OPERATORS],
    description="The event health figures changed; the scheduler publishes them every few "
    "seconds at most, to operators.",
)


def health_snapshot(live: dict | None = None) -> HealthSnapshot:
    """The figures as they stand; ``live``, the ``processes()`` figures if already read."""
    now = timezone.now()
    backlog = Delivery.objects.filter(status__in=[Status.DEAD, Status.PENDING]).aggregate(
        dead=Count("pk", filter=Q(status=Status.DEAD)),
        oldest_pending=Min("created_at", filter=Q(status=Status.PENDING)),
    )
    return HealthSnapshot(
        **{name: handler_figures(now - length) for name, length in WINDOWS.items()},
        dead_letters=backlog["dead"],
        oldest_pending_since=backlog["oldest_pending"],
        **(live or processes()),
    )


def processes() -> dict:
    """The snapshot's figures read from Redis in one round trip: the queue, the scheduler and
    the clusters."""
    return processes_and_work()[0]


def processes_and_work() -> tuple[dict, tuple | None]:
    """``processes()``, and the work in flight (``scheduler.read_work_in_flight()``) read in the
    same round trip; None for it when Redis cannot say."""
    try:
        replies = read_processes_and_work(broker().connection.pipeline(transaction=False)).execute()
    except RedisError:
        return {"queue_depth": None, "scheduler": None, "clusters": []}, None
    return processes_and_work_from(replies)


def read_processes_and_work(reads: Pipeline) -> Pipeline:
    """Add the reads of ``processes_and_work()`` to ``reads``: the scheduler sends them with
    its own."""
    # Not at the top: the scheduler publishes these snapshots, and imports this module.
    from .scheduler import lock_name, read_work_in_flight

    reads.get(lock_name()).zrange(heartbeats_key(), 0, -1, withscores=True)
    return read_work_in_flight(reads)


def processes_and_work_from(replies: list) -> tuple[dict, tuple]:
    """``processes_and_work()`` from the replies to its reads."""
    holder, beats, *work = replies
    live = {
        "queue_depth": work[0],
        "scheduler": holder.decode() if holder else None,
        "clusters": heartbeats(beats),
    }
    return live, tuple(work)


def handler_figures(since: datetime) -> list[HandlerFigures]:
    """Outcomes and latency per handler of the deliveries created since ``since``, in one query.

    Latency percentiles are nearest-rank: the shortest successful duration that at least that
    share of them do not exceed, found by ranking each handler's durations (``CUME_DIST``).
    """
    ranked = (
        Delivery.objects.filter(created_at__gte=since)
        .annotate(
            latency_share=Window(
                CumeDist(),
                partition_by=[F("handler"), F("status"), IsNull(F("duration_ms"), True)],
                order_by=F("duration_ms").asc(),
            )
        )
        .order_by()
        .values("handler", "status", "duration_ms", "latency_share")
    )
    inner, params = ranked.query.sql_with_params()
    statuses = [Status.SUCCEEDED, Status.FAILED, Status.DEAD, Status.SKIPPED]
    counts = ", ".join("COUNT(CASE WHEN status = %s THEN 1 END)" for _ in statuses)
    percentile = (
        "MIN(CASE WHEN status = %s AND duration_ms IS NOT NULL AND latency_share >= %s "
        "THEN duration_ms END)"
    )
    sql = (
        f"SELECT handler, {counts}, {percentile}, {percentile} "
        f"FROM ({inner}) ranked GROUP BY handler ORDER BY handler"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*statuses, Status.SUCCEEDED, 0.5, Status.SUCCEEDED, 0.95, *params])
        rows = cursor.fetchall()
    return [figures(*row) for row in rows]


def figures(
    handler: str,
    succeeded: int,
    failed: int,
    dead: int,
    skipped: int,
    p50_ms: int | None,
    p95_ms: int | None,
) -> HandlerFigures:
    finished = succeeded + failed + dead
    return HandlerFigures(
        handler=handler,
        succeeded=succeeded,
        failed=failed,
        dead=dead,
        skipped=skipped,
        success_rate=round(100 * succeeded / finished) if finished else None,
        p50_ms=p50_ms,
        p95_ms=p95_ms,
    )


def heartbeats(beats: list[tuple[bytes, float]]) -> list[Heartbeat]:
    """Each supervisor's heartbeat, from its entry in Redis ("host:pid" and when its beat
    expires). One that stopped beating stays listed, naming when it did, until a beating
    supervisor sweeps it out."""
    now = time.time()
    listed = []
    for name, expires_at in sorted(beats):
        last_beat = expires_at - HEARTBEAT_EXPIRY
        silent = now - last_beat > HEARTBEAT_EXPIRY
        if silent and now - last_beat > FORGET_SILENT_AFTER.total_seconds():
            continue
        since = datetime.fromtimestamp(last_beat, tz=UTC) if silent else None
        listed.append(Heartbeat(name=name.decode(), silent_since=since))
    return listed
