"""Two nodes on one database and Redis: web processes, worker clusters and schedulers on each.

Every reaction runs once when both clusters share the queue; when one node's cluster is killed
in the middle of a burst, the other node and its own replacement deliver everything, and an
agent on one web process sees the tickets posted through the other.
"""

import json
import threading

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from eventplatform.events.models import Delivery
from support.audience import AGENTS_ROLE
from tests.factories import UserFactory
from tests.reliability.conftest import Platform
from tests.reliability.figures import record
from tests.stack import Processes, stack_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
NODES = ("a", "b")


@pytest.fixture
def two_nodes(django_db_setup, task_queue, tmp_path, stack_settings, mailbox, crm):
    processes = Processes(stack_env(**stack_settings), tmp_path)
    try:
        for node in NODES:
            processes.start_worker(f"worker-{node}")
            processes.start_scheduler(f"scheduler-{node}")
            processes.start_web(f"web-{node}")
        platform = Platform(processes, mailbox, crm, web="web-a")
        wait_for(lambda: platform.ready().json()["checks"]["workers"] == "2 cluster(s)", 30)
        yield platform
    finally:
        processes.stop_all()


def test_every_delivery_of_a_burst_runs_exactly_once(two_nodes):
    tickets = two_nodes.post_tickets(20)

    two_nodes.wait_until_every_reaction_arrived(tickets)

    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    subjects = two_nodes.acknowledged()
    assert len(subjects) == 20, "one acknowledgement per ticket: none lost"
    assert set(subjects.values()) == {1}, "none twice"


def test_a_node_whose_cluster_is_killed_mid_burst_loses_nothing(two_nodes, crm):
    agent = UserFactory(username="agent")
    agent.groups.add(Group.objects.get_or_create(name=AGENTS_ROLE)[0])
    agent_token = Token.objects.create(user=agent).key
    crm.delay = 0.05
    tickets: list[int] = []
    bursts = [
        threading.Thread(target=lambda n=node: tickets.extend(two_nodes.post_tickets(20, via=n)))
        for node in ("web-a", "web-b")
    ]
    with connect(
        two_nodes.processes.urls["web-b"].replace("http://", "ws://") + "/ws/stream/",
        additional_headers={"Authorization": f"Token {agent_token}"},
    ) as agent_socket:
        for burst in bursts:
            burst.start()
        wait_for(lambda: len(crm.requests) >= 5, timeout=30)
        for process in two_nodes.processes.cluster("worker-a"):
            process.kill()
        for burst in bursts:
            burst.join()
        two_nodes.wait_until_every_reaction_arrived(tickets, timeout=30)

        seen = set()
        while len(seen) < len(tickets):
            event = json.loads(agent_socket.recv(timeout=10))
            if event["type"] == "support.ticket.created.v1":
                seen.add(event["data"]["ticket_id"])

    assert len(tickets) == 40
    assert seen == set(tickets), "the agent on web-b saw every ticket, from either web process"
    assert len(two_nodes.crm_updates()) == 40
    record(
        "two nodes, one cluster killed mid-burst: CRM updates received twice",
        two_nodes.duplicates(),
    )
