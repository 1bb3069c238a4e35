"""Failures around a delivery: receivers that misbehave, a reaction that always fails, work
the web process never enqueued, and the scheduler that retries them killed.

The stack retries after 1 s, 1 s and 1 s (``RETRY_SCHEDULE``, with its ±20 % jitter), so
each retry's lateness is the gap between two attempts at the receiver less about a second.
"""

import itertools
import os
import signal
import time
from collections import defaultdict
from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from eventplatform.events.models import Delivery
from eventplatform.events.scheduler import active_scheduler
from support.services import ticket_create
from tests.reliability.figures import record
from tests.stack import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
CRM = "support.crm-update"


def attempts_by_delivery(crm) -> dict[str, list[float]]:
    arrivals = defaultdict(list)
    for request in crm.requests:
        arrivals[request.headers["webhook-id"]].append(request.at)
    return arrivals


def record_lateness(crm) -> None:
    for arrivals in attempts_by_delivery(crm).values():
        for earlier, later in itertools.pairwise(arrivals):
            record("retry lateness, seconds after its 1 s back-off", later - earlier - 1)


@pytest.mark.parametrize("answer", [500, 429, "reset", "silence"])
def test_a_receiver_that_fails_once_gets_the_update_on_the_retry(platform, crm, answer):
    crm.misbehave = [answer]
    if answer == 429:
        crm.response_headers = {"Retry-After": "1"}

    tickets = platform.post_tickets(1)
    platform.wait_until_every_reaction_arrived(tickets, timeout=40)

    [arrivals] = attempts_by_delivery(crm).values()
    assert len(arrivals) == 2, "the failed attempt, then the retry with the same webhook-id"
    crm_delivery = Delivery.objects.get(handler=CRM)
    assert (crm_delivery.status, crm_delivery.attempts) == ("succeeded", 2)
    if answer != "silence":  # a silent receiver is given up on after the HTTP timeout
        record_lateness(crm)


def test_a_reaction_that_always_fails_becomes_a_dead_letter_and_the_rest_flows(platform, crm):
    crm.status = 500

    tickets = platform.post_tickets(10)

    wait_for(lambda: Delivery.objects.filter(handler=CRM, status="dead").count() == 10, 30)
    assert len(platform.acknowledged()) == 10, "every acknowledgement went out meanwhile"
    assert (
        not Delivery.objects.exclude(handler=CRM)
        .exclude(status__in=["succeeded", "skipped"])
        .exists()
    )
    attempts = attempts_by_delivery(crm)
    assert len(attempts) == len(tickets)
    assert {len(a) for a in attempts.values()} == {4}, "one attempt and three retries each"
    record_lateness(crm)


def test_work_committed_by_a_process_that_died_before_enqueueing_it_still_runs(platform):
    customer = get_user_model().objects.get(username="customer")
    # The commit happens; the on-commit enqueue and push never run, as when the web process
    # is killed between the two.
    with mock.patch("eventplatform.events.outbox.dispatch"):
        ticket = ticket_create(customer=customer, subject="Lost at commit", body="Hello")
    committed_at = time.monotonic()

    done = platform.wait_until_every_reaction_arrived([ticket.pk], timeout=30)
    record("web process died before enqueueing: seconds to every reaction", done - committed_at)


def test_when_the_active_scheduler_is_killed_another_takes_over(platform, crm):
    platform.processes.start_scheduler("standby")
    active = active_scheduler()
    killed_at = time.monotonic()
    os.kill(int(active.rsplit(":", 1)[1]), signal.SIGKILL)

    successor = wait_for(lambda: (active_scheduler() or active) != active and active_scheduler())
    record("scheduler killed: seconds until another took over", time.monotonic() - killed_at)
    assert successor.rsplit(":", 1)[1] == str(platform.processes.running["standby"].pid)

    crm.misbehave = [500]  # the retry needs the scheduler
    tickets = platform.post_tickets(1)
    platform.wait_until_every_reaction_arrived(tickets, timeout=30)
    assert len(crm.requests) == 2
