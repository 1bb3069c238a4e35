"""Workers killed the way the kernel kills them: every reaction still arrives, in seconds.

django-q2 reincarnates a killed worker, but a worker killed while it holds the cluster's task
queue lock wedges the cluster for good (django-q2 #23). These tests kill processes of the
running cluster with SIGKILL, with no second cluster to fall back on, and count what the
receivers got.
"""

import os
import signal
import threading
import time

import psutil
import pytest
from django.utils.timezone import now

from eventplatform.events.models import Delivery
from tests.reliability.figures import record
from tests.stack import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def kill(processes) -> float:
    for process in processes:
        os.kill(process.pid, signal.SIGKILL)
    return time.monotonic()


def role(process) -> str | None:
    """What a process of the cluster does, from the title django-q2 gives it: "qcluster
    <process> idle" or "processing <task>" for a worker, then "monitor", "pusher". Not from the
    order of their pids: pids wrap, at 32,768 on many hosts."""
    try:
        return " ".join(process.cmdline()).split()[2]
    except (psutil.Error, IndexError):
        return None  # it ended meanwhile, or it has no such title (a handler's child)


def doing(cluster, *roles):
    found = [p for p in cluster if role(p) in roles]
    assert found, f"no process of the cluster is {' or '.join(roles)}"
    return found


def workers(cluster):
    return doing(cluster, "idle", "processing")


VICTIMS = {
    "idle workers": workers,
    "pusher and monitor": lambda cluster: doing(cluster, "pusher", "monitor"),
    "whole cluster": lambda cluster: cluster,
}


@pytest.mark.parametrize("victims", VICTIMS)
def test_killed_cluster_processes_are_replaced_and_every_reaction_arrives(platform, victims):
    killed_at = kill(VICTIMS[victims](platform.processes.cluster("worker")))

    tickets = platform.post_tickets(20)
    done = platform.wait_until_every_reaction_arrived(tickets, timeout=30)

    assert len(tickets) == 20
    assert len(platform.acknowledged()) == 20
    record(f"kill -9 of {victims}: seconds to every reaction of 20 tickets", done - killed_at)
    # A new cluster may finish the work before its supervisor's next look vouches for it.
    platform.wait_until_ready(timeout=10)


def test_busy_workers_killed_mid_burst_lose_nothing(platform, crm):
    crm.delay = 0.05  # a slow receiver keeps the workers busy
    tickets = []
    burst = threading.Thread(target=lambda: tickets.extend(platform.post_tickets(200)))
    burst.start()
    wait_for(lambda: len(crm.requests) >= 20, timeout=30)
    running = Delivery.objects.filter(status="running")
    wait_for(running.exists, timeout=10)
    killed_at, killed_time = kill(workers(platform.processes.cluster("worker"))), now()
    in_flight = list(running.values_list("pk", flat=True))  # nothing can finish them now
    burst.join()

    done = platform.wait_until_every_reaction_arrived(tickets, timeout=60)

    assert len(tickets) == 200
    assert len(platform.crm_updates()) == 200, "every CRM update arrived"
    assert len(platform.acknowledged()) == 200, "every acknowledgement arrived"
    assert in_flight, "the workers were killed in the middle of deliveries"
    redone = Delivery.objects.filter(pk__in=in_flight)
    assert {(d.status, d.attempts) for d in redone} == {("succeeded", 2)}, "each ran again"
    for delivery in redone:
        record(
            "kill -9 of busy workers mid-burst: seconds until work in flight had run again",
            (delivery.finished_at - killed_time).total_seconds(),
        )
    record("kill -9 of busy workers mid-burst: seconds to the last reaction", done - killed_at)
    record("kill -9 of busy workers mid-burst: CRM updates received twice", platform.duplicates())


def test_a_wedged_cluster_is_replaced_and_readyz_says_so_meanwhile(platform):
    # Stopped, not dead: the processes are all there and the cluster takes no work.
    stopped = workers(platform.processes.cluster("worker"))
    for process in stopped:
        os.kill(process.pid, signal.SIGSTOP)
    wedged_at = time.monotonic()
    tickets = platform.post_tickets(5)

    wait_for(lambda: platform.ready().status_code == 503, timeout=10)
    done = platform.wait_until_every_reaction_arrived(tickets, timeout=30)

    record("wedged cluster: seconds to every reaction of 5 tickets", done - wedged_at)
    assert not any(p.is_running() and p.status() == "stopped" for p in stopped)
    platform.wait_until_ready(timeout=10)
