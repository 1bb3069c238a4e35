"""The scheduler: fires retries when they fall due, and recovers stranded work in seconds.

It also runs django-q2's schedules (the SLA timers) when they fall due, in place of the
clusters, which would look only every 30 s. Once a look found every delivery finished, the
scheduler waits for a word that work moved (``queue.wake_scheduler``): a worker sends one with
each report of the tasks it started and finished, a supervisor with each cluster it replaces.
It then reads the database again only if the queue, the workers' task counts or the replaced
clusters moved since, when a schedule falls due, or ``IDLE_LOOK`` seconds later: what changes
without a word is a commit whose tasks were never sent (its process died first, or could not
reach Redis) and a schedule an operator added, and recovery has 30 s for those. Idle, the
scheduler renews its lock and waits in one Redis round trip every 2.5 s, and makes two queries
every 10 s.

While active, it publishes the event health figures to operators when they changed, every
``HEALTH_INTERVAL`` seconds at most. What Redis shows of them comes with the reads of its looks
and its waits, at no round trip of their own; it reads the deliveries' figures again only when
the work in flight moved since it last did, or ``FIGURES_REFRESH`` seconds later: idle, between
those refreshes, the figures cost no query and wake no thread.

Run it as ``python manage.py run_scheduler`` on one node or several: a Redis lock with a
short expiry makes one instance active, renewed every 1.5-2.5 s. The others stand by and
try to take the lock on their ticks, so when the active one dies another takes over within
the lock's expiry. Two instances active at once (a tick that outlived the lock) are harmless:
recovery only enqueues, and a delivery enqueued twice still runs once.
"""

import contextlib
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Min
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler as run_due_schedules
from redis.client import Pipeline
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from .conf import event_setting
from .health import (
    HEALTH_CHANGED,
    HealthSnapshot,
    health_snapshot,
    processes_and_work,
    processes_and_work_from,
    read_processes_and_work,
)
from .lifecycle import identity
from .outbox import publish
from .queue import broker, wake_key, wake_scheduler
from .reconciler import any_unfinished, reconcile, seconds_to_next_retry
from .supervisor import all_clusters_key, replaced_key

logger = logging.getLogger(__name__)

LOCK_EXPIRY = 5.0
# The active instance renews the lock on every other tick: what is left of it then (3 s)
# outlasts a late tick. Waiting for work, it renews it as it starts to wait, and waits for
# half the lock's expiry at most: Redis ends a blocking read on time.
LOCK_RENEW_AFTER = 1.5
WAIT_FOR_WORK = LOCK_EXPIRY / 2
HEALTH_INTERVAL = 3.0
# The deliveries' figures age (a delivery leaves the last hour), and a change no worker made
# (an operator deleting events, the daily pruning) moves no task count: shown within this.
FIGURES_REFRESH = 60.0
# What appears without a word is a commit whose tasks were never sent: a look this often
# finds it within 12 s, well inside recovery's 30 s.
IDLE_LOOK = 10.0


def lock_name() -> str:
    return f"{settings.NAMESPACE}:scheduler"


def active_scheduler() -> str | None:
    """Who holds the scheduler's lock: "host:pid" of the active instance, or None."""
    holder = broker().connection.get(lock_name())
    return holder.decode() if holder else None


def read_work_in_flight(reads: Pipeline) -> Pipeline:
    """Add to ``reads`` what Redis shows of the work in flight: the queue's depth (first), the
    tasks every cluster started and finished, and the last cluster a supervisor replaced.
    While it stays the same, no worker ran a task and none was queued."""
    reads.llen(broker().list_key).hgetall(all_clusters_key())
    return reads.zrange(replaced_key(), -1, -1, withscores=True)


class Scheduler:
    def __init__(self, tick: float | None = None) -> None:
        self.tick = tick or event_setting("SCHEDULER_TICK")
        self.identity = identity()
        self.lock = broker().connection.lock(
            lock_name(), timeout=LOCK_EXPIRY, blocking=False, thread_local=False
        )
        self.active = False
        self.renewed_at = 0.0
        # The health thread writes these four; the scheduler's own thread reads them, and
        # writes what it observed for the thread and when it woke it. A read that races a
        # write costs one more wake of the health thread at most.
        self.health: HealthSnapshot | None = None  # as last published
        self.figures: HealthSnapshot | None = None  # as last read
        self.activity: tuple | None = None
        self.figures_until = 0.0
        self.observed: tuple[dict, tuple | None] | None = None
        self.health_due = threading.Event()
        self.woken_at = -HEALTH_INTERVAL
        self.quiet: tuple | None = None  # what Redis showed when a look found nothing to do
        self.look_by = 0.0
        self.looked_at = 0.0
        # A blocking read must end well before the connection's own timeout, if it has one.
        timeout = broker().connection.connection_pool.connection_kwargs.get("socket_timeout")
        self.wait_limit = min(WAIT_FOR_WORK, timeout / 2) if timeout else WAIT_FOR_WORK

    def run(self, stopping: threading.Event) -> None:
        logger.info("scheduler %s ticking every %g s", self.identity, self.tick)
        # On a thread of its own: the figures take longer to read the busier the day has
        # been (docs/operations.md), and must not hold back a retry that falls due.
        threading.Thread(
            target=self.report_health_when_due, args=(stopping,), name="health", daemon=True
        ).start()
        try:
            while not stopping.is_set():
                if self.waits():
                    if not self.wait_for_work() and time.monotonic() < self.look_by:
                        continue
                    # Two looks a tick at most, however many words come: the first look
                    # after a cluster's kill still comes within a second of it (JUST_KILLED).
                    stopping.wait(max(0.0, self.looked_at + self.tick / 2 - time.monotonic()))
                started = time.monotonic()
                next_tick = started + self.tick
                if self.hold_lock() and (retry_in := self.recover()) is not None:
                    # Wake for a retry due before the next tick, not a tick after it; no
                    # more than ten times a second when many fall due one after another.
                    next_tick = min(next_tick, started + max(retry_in, 0.1))
                if not self.waits():
                    stopping.wait(max(0.0, next_tick - time.monotonic()))
        finally:
            self.health_due.set()  # for the health thread to see the stop
            if self.active:
                with contextlib.suppress(LockError, RedisError):
                    self.lock.release()

    def hold_lock(self) -> bool:
        """Renew the lock if this instance holds it, else try to take it."""
        now = time.monotonic()
        try:
            if self.active and now - self.renewed_at >= LOCK_RENEW_AFTER:
                self.lock.reacquire()
                self.renewed_at = now
            elif not self.active:
                self.active = self.lock.acquire(token=self.identity)
                if self.active:
                    self.renewed_at = now
                    logger.info("scheduler %s is now the active instance", self.identity)
        except LockError:
            self.stand_by("it lost its lock to another instance")
        except RedisError as error:
            self.stand_by(f"it cannot reach Redis ({error})")
        return self.active

    def stand_by(self, why: str) -> None:
        logger.warning("scheduler %s stands by: %s", self.identity, why)
        self.active = False

    def waits(self) -> bool:
        """Whether it waits for work instead of ticking: active, and its last look found
        every delivery finished."""
        return self.active and self.quiet is not None

    def wait_for_work(self) -> bool:
        """Renew the lock and wait for a word that work moved, in one round trip, until the lock
        needs renewing again or the next look is due; return whether a word came (or Redis
        could not say). A stop waits for the end of the wait: 2.5 s at most."""
        started = time.monotonic()
        timeout = min(self.wait_limit, self.look_by - started)
        if timeout <= 0:
            return False
        try:
            wait = broker().connection.pipeline(transaction=False)
            # redis-py's own renewal, sent in the pipeline: Lock.reacquire() would take a
            # round trip of its own, and its registered script, in a pipeline, another to ask
            # Redis whether it has the script.
            expiry = int(LOCK_EXPIRY * 1000)
            wait.eval(Lock.LUA_REACQUIRE_SCRIPT, 1, lock_name(), self.identity, expiry)
            wait.blpop([wake_key()], timeout=max(round(timeout, 3), 0.001))
            renewed, word, *replies = read_processes_and_work(wait).execute()
        except RedisError as error:
            self.stand_by(f"it cannot reach Redis ({error})")
            return True
        if not renewed:
            self.stand_by("it lost its lock to another instance")
            if word is not None:  # the word is the new active instance's
                with contextlib.suppress(RedisError):
                    wake_scheduler(broker().connection.pipeline(transaction=False)).execute()
            return True
        self.renewed_at = started
        self.observe(*processes_and_work_from(replies))
        return word is not None

    def recover(self) -> float | None:
        """Enqueue what is due or stranded; return seconds until the next retry is due."""
        self.looked_at = time.monotonic()
        live, activity = processes_and_work()
        self.observe(live, activity)
        if activity is not None and activity == self.quiet and self.looked_at < self.look_by:
            return None
        self.quiet = None
        try:
            now = timezone.now()
            # Idle, most looks find every delivery finished: one query says so, and the
            # rules' queries and the Redis reads behind them are left out. A delivery written
            # after it is looked at on the next tick, as one written after the rules ran is.
            counts, retry_in = {}, None
            unfinished = any_unfinished()
            if unfinished:
                counts = reconcile(now)
                retry_in = seconds_to_next_retry(now)
            schedules = Schedule.objects.exclude(repeats=0)
            next_run = schedules.aggregate(first=Min("next_run"))["first"]
            if next_run and next_run < now:
                run_due_schedules(broker=broker())  # and look again on the next tick
        except Exception:
            # The database or Redis went away mid-tick; the next tick starts afresh.
            logger.exception("scheduler tick failed")
            return None
        finally:
            close_old_connections()
        if not unfinished:
            self.quiet = activity
            until_schedule = (next_run - now).total_seconds() if next_run else IDLE_LOOK
            # A schedule django-q2 leaves due (another cluster's) is looked at once a tick.
            self.look_by = time.monotonic() + max(self.tick, min(IDLE_LOOK, until_schedule))
        if any(counts.values()):
            logger.info(
                "enqueued %s", ", ".join(f"{reason}={n}" for reason, n in counts.items() if n)
            )
        return retry_in

    def observe(self, live: dict, activity: tuple | None) -> None:
        """What a look or a wait of the active instance read of Redis just now: if the health
        figures may have changed, wake the health thread to publish them, ``HEALTH_INTERVAL``
        seconds after its last wake at the soonest."""
        now = time.monotonic()
        if now - self.woken_at < HEALTH_INTERVAL:
            return
        if (
            not self.figures_stale(activity, now)
            and self.figures.model_copy(update=live) == self.health
        ):
            return  # nothing to read, and nothing to say
        self.woken_at = now
        self.observed = (live, activity)
        self.health_due.set()

    def figures_stale(self, activity: tuple | None, now: float) -> bool:
        """Whether the deliveries' figures are to be read again: the work in flight moved since
        they were read (None: unknown), or they are ``FIGURES_REFRESH`` seconds old."""
        return activity is None or activity != self.activity or now >= self.figures_until

    def report_health_when_due(self, stopping: threading.Event) -> None:
        while self.health_due.wait() and not stopping.is_set():
            self.health_due.clear()
            try:
                self.report_health(self.observed)
            finally:
                close_old_connections()

    def report_health(self, observed: tuple[dict, tuple | None] | None = None) -> None:
        """Publish the health figures to operators if they changed since last published.
        ``observed``, ``processes_and_work()`` if already read."""
        try:
            live, activity = observed or processes_and_work()
            now = time.monotonic()
            if self.figures_stale(activity, now):
                self.figures = health_snapshot(live)
                self.activity, self.figures_until = activity, now + FIGURES_REFRESH
            else:
                self.figures = self.figures.model_copy(update=live)
            if self.figures != self.health:
                publish(HEALTH_CHANGED, self.figures)
                self.health = self.figures
        except Exception:
            # The database or Redis went away; the next interval tries again.
            logger.exception("could not publish the event health figures")
