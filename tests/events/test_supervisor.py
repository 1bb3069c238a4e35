"""The supervisor's bookkeeping inside a cluster's workers, and how it watches them."""

import os
import subprocess
import sys
import threading
import time

import psutil
import pytest
import redis
from django_q.conf import Conf
from redis.backoff import NoBackoff
from redis.retry import Retry

from eventplatform.events import supervisor
from eventplatform.events.lifecycle import Stopping
from tests.receivers import free_port


class UnreachableBroker:
    connection = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))


def test_a_worker_outlives_redis_going_away_around_its_task(monkeypatch):
    # django-q2 sends these signals outside its error handling: an error would kill the
    # worker, and its supervisor would kill the whole cluster with its reactions in flight.
    monkeypatch.setattr(supervisor, "broker", UnreachableBroker)
    monkeypatch.setenv(supervisor.CLUSTER_ID_VARIABLE, "cluster")

    supervisor.count_started(sender="django_q")
    supervisor.count_finished(sender="django_q")


def test_the_queues_own_timeout_kill_fires_at_the_sentinels_pace():
    # django-q2's sentinel counts a busy worker's time left (timeout + 3 s) down by its cycle,
    # and kills the worker when the count is 0 exactly: past 0, the task would hang for good.
    assert (Conf.TIMEOUT + 3) % Conf.GUARD_CYCLE == 0


def test_a_process_of_the_cluster_that_ends_is_seen_ended_before_anyone_reaps_it():
    # A cluster's worker is the sentinel's child, not the supervisor's: until the sentinel
    # reaps it, a dead worker is a zombie, and the supervisor must count it dead all the same.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    member = supervisor.Member(psutil.Process(child.pid))
    try:
        assert not member.ended()
        child.kill()
        deadline = time.monotonic() + 5
        while not member.ended() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert member.ended()
        assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, "nobody reaped it"
    finally:
        child.kill()
        child.wait()
        member.close()


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="Linux only: elsewhere it ticks")
@pytest.mark.parametrize("ending", [0, 3], ids=["qcluster", "a worker"])
def test_the_supervisor_wakes_as_a_process_of_its_cluster_ends_or_a_stop_is_asked(ending):
    # Between its reads of Redis it sleeps on its cluster's processes: a death is seen when it
    # happens, not at its next look nor its next tick, and a stop is not kept waiting either.
    watcher = supervisor.ClusterSupervisor(tick=60)
    # qcluster, its sentinel, and the sentinel's workers, monitor and pusher
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(1 + 1 + watcher.workers + 2)]
    watcher.main, *started = (supervisor.Member(psutil.Process(p.pid)) for p in sleepers)
    watcher.members = {member.process.pid: member for member in started}
    watcher.look_at = time.monotonic() + 60
    stopping = Stopping()
    try:
        threading.Timer(0.1, sleepers[ending].kill).start()
        since = time.monotonic()
        assert watcher.wait(stopping) is False
        assert time.monotonic() - since < 30, "it slept until its next look"
        assert [m.process.pid for m in watcher.watched() if m.ended()] == [sleepers[ending].pid]

        sleepers[ending].wait()
        alive = supervisor.Member(psutil.Process())  # in place of the one that ended
        if ending == 0:
            watcher.main = alive
        else:
            del watcher.members[sleepers[ending].pid]
            watcher.members[os.getpid()] = alive
        threading.Timer(0.1, stopping.set).start()
        since = time.monotonic()
        assert watcher.wait(stopping) is True
        assert time.monotonic() - since < 30, "the stop waited for the next look"
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
