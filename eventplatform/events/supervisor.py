"""Supervising the worker cluster from outside it.

A django-q2 cluster whose child process dies while it holds the cluster's task queue lock
stops taking work for good, while its sentinel reincarnates the child and reports itself
alive (django-q2 #23, #339). Nothing inside the cluster can be trusted to notice, so
``run_workers`` runs ``qcluster`` as a child in a process group of its own and replaces the
whole group, new processes and new queues, when

- the cluster exits;
- any of its processes dies: a healthy cluster keeps its processes (recycling is off), so a
  death means a kill, an out-of-memory kill or a timeout kill, any of which may hold a lock;
- work waits in the queue while the cluster has idle workers and starts nothing: a wedge
  nobody saw happen.

Whatever the replaced cluster held comes back through the scheduler (expired leases, tasks
that left the queue and never started). While its cluster is up and taking work, the
supervisor beats a heartbeat in Redis, which ``/readyz`` reads.
"""

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid

import psutil
from django.conf import settings
from django_q.signals import post_execute_in_worker, pre_execute
from redis.client import Pipeline
from redis.exceptions import RedisError

from .conf import event_setting
from .lifecycle import Stopping, identity
from .queue import broker, wake_scheduler

logger = logging.getLogger(__name__)

# Set in the cluster's environment: its workers count the tasks they start and finish.
CLUSTER_ID_VARIABLE = "EVENTPLATFORM_CLUSTER_ID"
BOOT_GRACE = 10.0  # seconds a new cluster gets to start its processes and take work
# Seconds between the supervisor's reads of Redis: work left waiting is seen within this of
# STALL_AFTER, and the heartbeat (HEARTBEAT_EXPIRY) outlives one late read.
LOOK_EVERY = 2.0
HEARTBEAT_EXPIRY = 3.5
# The workers' commits on PostgreSQL return before the disk has them: a claim, an outcome, a
# reaction's own writes. Others see them at once; only a crash of PostgreSQL itself can lose
# the last fraction of a second of them, and with them every later one (the log is replayed
# in order), so that a delivery whose outcome was lost runs again: at least once still holds.
# The web processes keep durable commits: the outbox's events are written there.
ASYNCHRONOUS_COMMIT = "-c synchronous_commit=off"
REPLACED_MEMORY = 3600  # seconds a killed cluster is remembered


def heartbeats_key() -> str:
    return f"{settings.NAMESPACE}:clusters"


def counters_key(cluster_id: str) -> str:
    return f"{settings.NAMESPACE}:cluster:{cluster_id}"


def all_clusters_key() -> str:
    return f"{settings.NAMESPACE}:tasks"


def replaced_key() -> str:
    return f"{settings.NAMESPACE}:replaced-clusters"


def replaced_clusters() -> dict[str, float]:
    """Clusters a supervisor killed in the last hour, with when (Unix time): the deliveries
    they held are free at once, and the tasks they had pulled and not started are lost."""
    return {
        cluster.decode(): killed_at
        for cluster, killed_at in broker().connection.zrange(replaced_key(), 0, -1, withscores=True)
    }


def clusters_taking_work() -> int:
    """Clusters whose supervisor saw them up and taking work in the last few seconds."""
    return broker().connection.zcount(heartbeats_key(), time.time(), "+inf")


def count_started(sender, **kwargs) -> None:
    """In a supervised cluster's workers: count each task started, for Redis."""
    _counter.add("started")


def count_finished(sender, **kwargs) -> None:
    _counter.add("finished")


# Seconds between a worker's reports of the tasks it started and finished: well within the
# supervisor's LOOK_EVERY, far below STALL_AFTER.
REPORT_EVERY = 0.2


class _TaskCounter:
    """A worker's count of the tasks it started and finished, reported to Redis by a thread of
    its own rather than by each task: two round trips per task cost a good part of a short
    delivery, and the supervisor looks only every LOOK_EVERY seconds. The thread reports while the
    worker waits for work too, so an idle worker shows as idle however it waits.

    django-q2 sends the counted signals outside its error handling: nothing here may raise
    into the task (Redis down as a task ends would kill the worker, and its supervisor would
    then SIGKILL the whole cluster with the other workers' reactions in flight). A count that
    cannot be reported is kept and reported later; one lost with its process only blurs stall
    detection, as a Redis restarted empty does.
    """

    def __init__(self) -> None:
        self.pid: int | None = None

    def _start(self) -> None:
        # Per process: django-q2 forks its workers, and a fork inherits no thread.
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.pending: dict[tuple[str, str], int] = {}
        self.due = threading.Event()
        threading.Thread(target=self._run, name="task-counter", daemon=True).start()

    def add(self, field: str) -> None:
        if self.pid != os.getpid():
            self._start()
        key = (counters_key(os.environ[CLUSTER_ID_VARIABLE]), field)
        with self.lock:
            self.pending[key] = self.pending.get(key, 0) + 1
        self.due.set()

    def _run(self) -> None:
        while True:
            self.due.wait()
            time.sleep(REPORT_EVERY)  # whatever else the worker counts meanwhile goes along
            with self.lock:
                counts, self.pending = self.pending, {}
                self.due.clear()
            try:
                report = broker().connection.pipeline(transaction=False)
                for (key, field), count in counts.items():
                    report.hincrby(key, field, count).expire(key, REPLACED_MEMORY)
                    report.hincrby(all_clusters_key(), field, count)
                wake_scheduler(report).execute()
            except Exception as error:
                logger.warning("could not report the tasks counted (%s); trying again", error)
                with self.lock:
                    for key, count in counts.items():
                        self.pending[key] = self.pending.get(key, 0) + count
                self.due.set()
                time.sleep(1)


_counter = _TaskCounter()


def count_tasks() -> None:
    pre_execute.connect(count_started, dispatch_uid="events.count_started")
    post_execute_in_worker.connect(count_finished, dispatch_uid="events.count_finished")


def alive(process: psutil.Process) -> bool:
    """Running and not a zombie: a dead child stays a zombie until its parent reaps it."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Member:
    """A process of the cluster, watched until it ends.

    On Linux through a pidfd, which turns readable as the process ends, zombie or not, and
    never names a process that reused its pid: the supervisor sleeps on them all, and wakes as
    one ends. Elsewhere (or on a kernel or in a sandbox that refuses pidfds), by reading its
    status.
    """

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            # ProcessLookupError: it ended already, and ended() says so from its status.
            with contextlib.suppress(OSError):
                self.pidfd = os.pidfd_open(process.pid)

    def ended(self) -> bool:
        if self.pidfd is None:
            return not alive(self.process)
        return bool(wait_readable([self.pidfd], 0))

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def wait_readable(files: list[int], timeout: float) -> list[tuple[int, int]]:
    """Wait up to ``timeout`` seconds for any of ``files`` to turn readable; poll(), unlike
    select(), takes any file number."""
    poll = select.poll()
    for file in files:
        poll.register(file, select.POLLIN)
    return poll.poll(timeout * 1000)


class ClusterSupervisor:
    # Once its processes have shown, it sleeps until one of them ends (on Linux) or its next
    # read of Redis is due, every LOOK_EVERY seconds; that read, which carries the heartbeat
    # too, is what an idle cluster costs it. Until then, and where a process cannot be waited
    # for, it looks every ``tick``: a dead process is seen within a second, far inside
    # recovery's 30 s.
    def __init__(self, tick: float = 1.0) -> None:
        self.tick = tick
        self.workers = settings.Q_CLUSTER["workers"]
        self.stall_after = event_setting("STALL_AFTER")
        self.identity = identity()
        self.process: subprocess.Popen | None = None
        self.main: Member | None = None  # qcluster's own process
        # The processes it started: its sentinel, and the sentinel's workers, monitor and pusher.
        self.members: dict[int, Member] = {}
        self.vouched = False  # whether the heartbeat says the cluster takes work
        self.replacements = 0

    def run(self, stopping: Stopping) -> None:
        self.start()
        try:
            while not self.wait(stopping):
                try:
                    problem = self.problem()
                except Exception as error:
                    # Whatever went wrong, a cluster nobody can vouch for is replaced.
                    logger.exception("could not check the worker cluster")
                    problem = f"its check failed ({error!r})"
                if problem is None:
                    self.vouch()
                    continue
                logger.error("replacing the worker cluster: %s", problem)
                self.forget()
                self.kill()
                if stopping.wait(self.backoff()):
                    break
                self.start()
        finally:
            self.forget()
            self.stop()

    def start(self) -> None:
        self.cluster_id = uuid.uuid4().hex
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                CLUSTER_ID_VARIABLE: self.cluster_id,
                "PGOPTIONS": f"{os.environ.get('PGOPTIONS', '')} {ASYNCHRONOUS_COMMIT}".strip(),
            },
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        for member in self.watched():
            member.close()
        self.main = Member(psutil.Process(self.process.pid))
        self.members = {}
        self.progress = (-1, time.monotonic())
        self.idle_for = 0.0
        self.look_at = self.started_at + LOOK_EVERY
        logger.info("started worker cluster %s (pid %s)", self.cluster_id, self.process.pid)

    def watched(self) -> list[Member]:
        """The processes whose end the supervisor waits for: qcluster and those it started."""
        return [self.main, *self.members.values()] if self.main else []

    def all_shown(self) -> bool:
        """Whether each process the cluster starts has shown: its sentinel, and the workers,
        monitor and pusher the sentinel spawns, the pusher last."""
        return len(self.members) >= 1 + self.workers + 2

    def wait(self, stopping: Stopping) -> bool:
        """Sleep until a process of the cluster ends, the next look is due or a stop is asked;
        return whether to stop."""
        pidfds = [member.pidfd for member in self.watched()]
        if not self.all_shown() or None in pidfds:
            return stopping.wait(self.tick)  # looking for its processes, or cannot wait for them
        wait_readable([stopping.fileno(), *pidfds], max(0.0, self.look_at - time.monotonic()))
        return stopping.is_set()

    def backoff(self) -> float:
        """No wait for a cluster that ran a while; a growing one for a cluster that cannot
        start (Redis down), so that it is retried, not spun."""
        if time.monotonic() - self.started_at > 60:
            self.replacements = 0
        self.replacements += 1
        return 0.0 if self.replacements == 1 else min(0.5 * 2 ** (self.replacements - 2), 8.0)

    def problem(self) -> str | None:
        """Why the cluster cannot be trusted to take work, or None."""
        if (code := self.process.poll()) is not None:
            return f"qcluster exited with {code}"
        if dead := sorted(pid for pid, member in self.members.items() if member.ended()):
            return f"process {', '.join(map(str, dead))} of the cluster died"
        # Looking for the cluster's processes reads every process on the host (psutil's
        # children() walks /proc): done until all have shown. Then each look polls only
        # those: a new one appears only in place of one that died, which that poll sees.
        if not self.all_shown():
            try:
                # Not processes a handler may start and end: they are no part of the cluster.
                sentinels = psutil.Process(self.process.pid).children()
                found = [*sentinels, *(c for s in sentinels for c in s.children())]
            except psutil.NoSuchProcess:
                return "qcluster vanished"
            new = [p for p in found if p.pid not in self.members and alive(p)]
            self.members.update((p.pid, Member(p)) for p in new)
        if time.monotonic() < self.look_at:
            return None
        self.look_at = time.monotonic() + LOOK_EVERY
        return self.stalled()

    def stalled(self) -> str | None:
        """Work waits, a worker is free, and the cluster started nothing for a while.

        While the supervisor vouches for the cluster, these reads renew its heartbeat: if
        Redis cannot be read, the heartbeat lapses after ``HEARTBEAT_EXPIRY``.
        """
        now = time.monotonic()
        try:
            look = broker().connection.pipeline(transaction=False)
            look.llen(broker().list_key).hgetall(counters_key(self.cluster_id))
            if self.vouched:
                self.beat(look)
            waiting, counters, *_ = look.execute()
        except RedisError:
            return None  # the cluster cannot take work either; /readyz says why
        started = int(counters.get(b"started", 0))
        busy = started - int(counters.get(b"finished", 0))
        if started != self.progress[0] or not waiting or busy >= self.workers:
            self.progress = (started, now)
        self.idle_for = now - self.progress[1]
        if now - self.started_at < BOOT_GRACE or self.idle_for < self.stall_after:
            return None
        return f"{waiting} task(s) waited {self.idle_for:.0f} s; no worker took one"

    def vouch(self) -> None:
        """Say the cluster takes work; not while it starts, nor while work waits for it.

        A change is said at once; while it lasts, each of its reads of Redis renews the heartbeat.
        """
        # Up once each of its processes has shown, the pusher last: until the pusher runs, no
        # task leaves the queue.
        up = time.monotonic() - self.started_at >= 1 and self.all_shown()
        fit = up and self.idle_for <= 1
        if fit == self.vouched:
            return
        with contextlib.suppress(RedisError):  # /readyz reports Redis itself
            if fit:
                self.beat(broker().connection.pipeline(transaction=False)).execute()
            else:
                broker().connection.zrem(heartbeats_key(), self.identity)
            self.vouched = fit

    def beat(self, pipe: Pipeline) -> Pipeline:
        """Add the heartbeat to ``pipe``, sweeping out the supervisors that stopped beating."""
        pipe.zadd(heartbeats_key(), {self.identity: time.time() + HEARTBEAT_EXPIRY})
        return pipe.zremrangebyscore(heartbeats_key(), "-inf", time.time())

    def forget(self) -> None:
        self.vouched = False
        with contextlib.suppress(RedisError):  # /readyz reports Redis itself
            connection = broker().connection
            connection.zrem(heartbeats_key(), self.identity)
            connection.delete(counters_key(self.cluster_id))

    def kill(self) -> None:
        """SIGKILL the cluster and everything it started; what they held is recovered."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        with contextlib.suppress(RedisError):
            replaced = broker().connection.pipeline(transaction=False)
            replaced.zadd(replaced_key(), {self.cluster_id: time.time()})
            replaced.zremrangebyscore(replaced_key(), "-inf", time.time() - REPLACED_MEMORY)
            wake_scheduler(replaced).execute()

    def stop(self, grace: float = 4.0) -> None:
        """Ask the cluster to finish its tasks and stop; kill it after ``grace`` seconds.

        A qcluster may hang in its own shutdown (django-q2 #346): the wait is bounded, and
        shorter than a process manager waits for the supervisor itself (honcho: 5 s), so that
        stopping never leaves a cluster behind. Work cut short runs again through recovery.
        """
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            logger.warning("worker cluster did not stop within %g s; killing it", grace)
            self.kill()
