"""Redis and PostgreSQL going away under a burst of tickets: clean answers, then every reaction.

Redis is stopped the way a crash stops it (SIGKILL), for a short blip or a longer outage, and
started again empty on the same port, as a Redis without persistence restarts: what the queue
held is gone, and the scheduler must find it again in the outbox. That Redis is a private
server on a free port, never the shared one. PostgreSQL stays up, but every connection the
platform holds to the test database is terminated by the server, twice, in the middle of the
burst.
"""

import json
import subprocess
import threading
import time

import httpx
import pytest
import redis
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from eventplatform.events.models import Delivery, Event
from eventplatform.events.realtime.consumers import CloseCode
from eventplatform.events.subscriptions import handlers_for
from support.events import TICKET_CREATED
from support.models import Ticket
from tests.receivers import free_port
from tests.reliability.figures import record
from tests.stack import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
# django-q2's pusher sleeps this long after it lost the broker, then exits; the supervisor
# then replaces the cluster (it replaces a cluster when any of its processes dies).
PUSHER_GIVES_UP_AFTER = 10
OUTAGES = {
    # Back before the pusher gives up: the cluster takes no work until it does, and is
    # replaced then, possibly with reactions in flight.
    "5 s blip": 5,
    # The cluster is replaced while Redis is down, with nothing in flight.
    "15 s outage": 15,
}


class RedisServer:
    """A redis-server of the test's own, without persistence: a restart starts it empty."""

    def __init__(self, logs) -> None:
        self.port = free_port()
        self.logs = logs
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> float:
        """Start on the same port as before; return when it answers (monotonic time)."""
        with (self.logs / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)

        def answers():
            """the private Redis answers"""
            try:
                return client.ping()
            except redis.RedisError:
                return False

        wait_for(answers, timeout=15, interval=0.05)
        client.close()
        return time.monotonic()

    def kill(self) -> float:
        """Stop as a crash does: no shutdown, nothing saved."""
        self.process.kill()
        self.process.wait(timeout=10)
        return time.monotonic()


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def stack_settings(stack_settings, private_redis):
    """The whole stack on the private Redis, which the test may stop."""
    return {**stack_settings, "REDIS_URL": private_redis.url}


def answers_to_posts(platform, count: int, prefix: str, answers: list) -> None:
    """POST ``count`` tickets, appending to ``answers`` what each got: (status, id), or
    (the error's name, None) when no answer came within the client's 30 s."""
    with httpx.Client(
        base_url=platform.url, headers={"Authorization": f"Token {platform.token}"}, timeout=30
    ) as client:
        for n in range(count):
            try:
                response = client.post(
                    "/api/v1/tickets/", json={"subject": f"{prefix} {n}", "body": "Help"}
                )
            except httpx.HTTPError as error:
                answers.append((type(error).__name__, None))
                continue
            created = response.status_code == 201
            answers.append((response.status_code, response.json()["id"] if created else None))


def in_background(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def stream_socket(platform):
    return connect(
        platform.url.replace("http://", "ws://") + "/ws/stream/",
        additional_headers={"Authorization": f"Token {platform.token}"},
        open_timeout=30,
    )


def closed_with(socket) -> int | None:
    """The close code the server ends ``socket`` with (it sends nothing else first)."""
    try:
        socket.recv(timeout=30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the server sent a message instead of closing the socket")


def first_event_of(socket, ticket: int) -> dict:
    """The first event about ``ticket`` the socket receives (each wait bounded)."""
    while True:
        event = json.loads(socket.recv(timeout=30))
        if event["data"].get("ticket_id") == ticket:
            return event


@pytest.mark.parametrize("outage", OUTAGES)
def test_redis_stopped_mid_burst_and_restarted_empty_loses_no_reaction(
    platform, private_redis, crm, outage
):
    crm.delay = 0.2  # a slow receiver: workers are mid-reaction when Redis goes
    answers: list = []
    burst = in_background(answers_to_posts, platform, 40, "Before", answers)
    wait_for(lambda: len(answers) >= 10, timeout=60, interval=0.01)
    killed_at = private_redis.kill()
    answered_before_the_kill = len(answers)
    burst.join(timeout=120)

    # Without Redis the outbox still commits: tickets are created, their reactions wait.
    while_down: list = []
    posting_started = time.monotonic()
    answers_to_posts(platform, 10, "While down", while_down)
    record(f"Redis {outage}: seconds per ticket POST", (time.monotonic() - posting_started) / 10)
    wait_for(lambda: platform.ready().status_code == 503, timeout=30)
    with stream_socket(platform) as socket:
        assert closed_with(socket) == CloseCode.UNAVAILABLE, "told to retry, not to log in"
    time.sleep(max(0.0, killed_at + OUTAGES[outage] - time.monotonic()))
    crm.delay = 0

    restarted_at = private_redis.start()
    tickets = list(Ticket.objects.values_list("pk", flat=True))
    done = platform.wait_until_every_reaction_arrived(tickets, timeout=60)

    assert not burst.is_alive()
    assert answered_before_the_kill < 40, "Redis went down mid-burst"
    assert [status for status, _ in answers + while_down] == [201] * 50
    assert sorted(pk for _, pk in answers + while_down) == sorted(tickets)
    assert len(platform.acknowledged()) == 50
    assert len(platform.crm_updates()) == 50
    record(
        f"Redis {outage}, restarted empty: seconds from restart to every reaction",
        done - restarted_at,
    )
    record(f"Redis {outage}: CRM updates received twice", platform.duplicates())
    if OUTAGES[outage] > PUSHER_GIVES_UP_AFTER:
        # No worker dies of the outage: only the pusher gives up, while nothing is in flight.
        assert platform.duplicates() == 0, "the outage interrupted no reaction in flight"
    platform.wait_until_ready(timeout=30)

    # The live stream works again: a socket opened now sees the next ticket arrive.
    with stream_socket(platform) as socket:
        [ticket] = platform.post_tickets(1, prefix="After")
        assert first_event_of(socket, ticket)["type"] == TICKET_CREATED.name


def terminate_platform_connections() -> int:
    """Have PostgreSQL end every session on the test database but the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def assert_nothing_half_written() -> None:
    """Every ticket has its ticket-created event, and that event its deliveries."""
    handlers = sorted(h.name for h in handlers_for(TICKET_CREATED.name))
    for ticket in Ticket.objects.all():
        [event] = Event.objects.filter(type=TICKET_CREATED.name, payload__ticket_id=ticket.pk)
        assert sorted(Delivery.objects.filter(event=event).values_list("handler", flat=True)) == (
            handlers
        ), f"ticket {ticket.pk} has every delivery"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: SQLite is a file, it has no connections to drop",
)
def test_postgresql_connections_dropped_mid_burst_give_clean_errors_then_every_reaction(
    platform,
):
    answers: list = []
    burst = in_background(answers_to_posts, platform, 100, "Burst", answers)
    terminated = 0
    for after in (10, 40):
        wait_for(lambda after=after: len(answers) >= after, timeout=60, interval=0.01)
        terminated += terminate_platform_connections()
    dropped_again_at = time.monotonic()
    answered_before_the_second_drop = len(answers)
    burst.join(timeout=300)

    assert not burst.is_alive()
    assert terminated, "the platform's processes had sessions to end"
    assert answered_before_the_second_drop < 100, "both drops came mid-burst"
    statuses = [status for status, _ in answers]
    assert all(s == 201 or (isinstance(s, int) and s >= 500) for s in statuses), statuses
    assert_nothing_half_written()
    created = [pk for _, pk in answers if pk is not None]
    tickets = list(Ticket.objects.values_list("pk", flat=True))
    assert set(created) <= set(tickets), "every 201 is a ticket"

    done = platform.wait_until_every_reaction_arrived(tickets, timeout=60)
    record(
        "PostgreSQL sessions dropped mid-burst: seconds from the second drop to every reaction",
        done - dropped_again_at,
    )
    record("PostgreSQL sessions dropped mid-burst: POSTs answered 5xx", len(answers) - len(created))
    record(
        "PostgreSQL sessions dropped mid-burst: CRM updates received twice", platform.duplicates()
    )

    # And the platform keeps working: a new burst is created and delivered whole.
    after = platform.post_tickets(20, prefix="After")
    assert len(after) == 20
    platform.wait_until_every_reaction_arrived([*tickets, *after], timeout=60)
    assert_nothing_half_written()
    platform.wait_until_ready(timeout=30)
