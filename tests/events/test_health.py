"""Event health: the figures operators watch, and the live snapshot only operators receive."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.authtoken.models import Token

from eventplatform.asgi import application
from eventplatform.events import supervisor
from eventplatform.events.audience import groups_for_user
from eventplatform.events.health import HEALTH_CHANGED, health_snapshot, processes_and_work
from eventplatform.events.models import Delivery, Event
from eventplatform.events.queue import broker
from eventplatform.events.scheduler import (
    FIGURES_REFRESH,
    HEALTH_INTERVAL,
    WAIT_FOR_WORK,
    Scheduler,
    lock_name,
)
from eventplatform.events.supervisor import HEARTBEAT_EXPIRY, heartbeats_key
from tests.events.sample import WIDGET_ORDERED
from tests.events.test_reconciler import running
from tests.factories import UserFactory
from tests.stack import wait_for

Status = Delivery.Status
CRM = "support.crm-update"
EMAIL = "support.acknowledgement-email"
# One aggregate per window (hour, day), then the dead letters with the oldest pending delivery.
SNAPSHOT_QUERIES = 3


def delivered(handler: str, status: str, *, ago: timedelta, duration_ms: int | None = None):
    event = Event.objects.create(
        type=WIDGET_ORDERED.name, source="/sample", payload={"order_id": 1, "customer_id": 1}
    )
    return Delivery.objects.create(
        event=event,
        handler=handler,
        status=status,
        created_at=timezone.now() - ago,
        duration_ms=duration_ms,
    )


def operator_user():
    user = UserFactory(username="on-call", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    return user


@pytest.fixture
def redis_keys():
    """The scheduler's lock and the supervisors' heartbeats, as a test sets them."""
    connection = broker().connection
    connection.delete(lock_name(), heartbeats_key())
    yield connection
    connection.delete(lock_name(), heartbeats_key())


@pytest.mark.django_db
def test_each_window_counts_outcomes_and_latency_per_handler(redis_keys):
    minutes = timedelta(minutes=1)
    for duration in range(10, 101, 10):  # ten successes in the last hour: 10 ms to 100 ms
        delivered(CRM, Status.SUCCEEDED, ago=30 * minutes, duration_ms=duration)
    delivered(CRM, Status.DEAD, ago=5 * minutes)
    delivered(CRM, Status.SUCCEEDED, ago=5 * 60 * minutes, duration_ms=2000)
    delivered(CRM, Status.FAILED, ago=5 * 60 * minutes)
    delivered(EMAIL, Status.SKIPPED, ago=20 * 60 * minutes)
    delivered(EMAIL, Status.DEAD, ago=3 * 24 * 60 * minutes)  # in neither window

    snapshot = health_snapshot()

    [crm] = snapshot.last_hour
    assert (crm.handler, crm.succeeded, crm.failed, crm.dead, crm.skipped) == (CRM, 10, 0, 1, 0)
    assert (crm.success_rate, crm.p50_ms, crm.p95_ms) == (91, 50, 100)
    email, crm = snapshot.last_day
    assert (crm.succeeded, crm.failed, crm.dead, crm.success_rate) == (11, 1, 1, 85)
    assert (crm.p50_ms, crm.p95_ms) == (60, 2000)
    assert (email.handler, email.skipped, email.success_rate, email.p95_ms) == (
        EMAIL,
        1,
        None,
        None,
    )
    assert snapshot.dead_letters == 2, "a dead letter counts whatever its age"


@pytest.mark.django_db
def test_the_oldest_pending_delivery_is_named_by_when_it_was_created(redis_keys):
    assert health_snapshot().oldest_pending_since is None
    oldest = delivered(CRM, Status.PENDING, ago=timedelta(seconds=40))
    delivered(EMAIL, Status.PENDING, ago=timedelta(seconds=10))
    delivered(EMAIL, Status.FAILED, ago=timedelta(minutes=10))

    assert health_snapshot().oldest_pending_since == oldest.created_at


@pytest.mark.django_db
def test_heartbeats_name_the_scheduler_and_when_a_cluster_fell_silent(redis_keys):
    now = time.time()
    redis_keys.set(lock_name(), "node-1:100")
    redis_keys.zadd(
        heartbeats_key(),
        {
            "node-1:200": now + HEARTBEAT_EXPIRY,  # beat just now
            "node-2:300": now - 30,  # expired 30 s ago
            "node-3:400": now - 2 * 24 * 3600,  # gone for days: forgotten
        },
    )

    snapshot = health_snapshot()

    assert snapshot.scheduler == "node-1:100"
    beating, silent = snapshot.clusters
    assert (beating.name, beating.silent_since) == ("node-1:200", None)
    assert silent.name == "node-2:300"
    last_beat = datetime.fromtimestamp(now - 30 - HEARTBEAT_EXPIRY, tz=UTC)
    assert abs(silent.silent_since - last_beat) < timedelta(milliseconds=1)
    redis_keys.delete(lock_name(), heartbeats_key())
    assert (health_snapshot().scheduler, health_snapshot().clusters) == (None, [])


@pytest.mark.django_db
def test_a_snapshot_costs_the_same_few_queries_however_many_handlers(
    redis_keys, django_assert_num_queries
):
    for n in range(20):
        delivered(f"handler-{n}", Status.SUCCEEDED, ago=timedelta(minutes=n), duration_ms=n)
        delivered(f"handler-{n}", Status.DEAD, ago=timedelta(hours=n))
    with django_assert_num_queries(SNAPSHOT_QUERIES):
        snapshot = health_snapshot()
    assert len(snapshot.last_day) == 20


@pytest.mark.django_db
def test_the_scheduler_publishes_the_figures_when_they_change_and_only_then(
    redis_keys, django_capture_on_commit_callbacks, monkeypatch
):
    scheduler = Scheduler()

    def published() -> list[Event]:
        with django_capture_on_commit_callbacks(execute=True):
            scheduler.report_health()
        return list(Event.objects.filter(type=HEALTH_CHANGED.name).order_by("position"))

    [first] = published()
    assert first.audience == ["operators"]
    assert first.payload["dead_letters"] == 0
    assert len(published()) == 1, "nothing changed: nothing published"

    # A worker ran a delivery, which became a dead letter, and reported its task.
    delivered(CRM, Status.DEAD, ago=timedelta(seconds=1))
    counted = processes_and_work()[1]
    monkeypatch.setenv(supervisor.CLUSTER_ID_VARIABLE, "cluster")
    supervisor.count_finished(sender="django_q")
    deadline = time.monotonic() + 5
    while processes_and_work()[1] == counted and time.monotonic() < deadline:
        time.sleep(0.05)
    first, second = published()
    assert second.payload["dead_letters"] == 1
    assert second.payload["last_hour"][0]["handler"] == CRM

    # A change no worker made (an operator deleted the dead letter) shows once the figures
    # are read again anyway, FIGURES_REFRESH later; until then an interval reads no delivery.
    Delivery.objects.filter(status=Status.DEAD).delete()
    assert len(published()) == 2
    with time_machine.travel(timedelta(seconds=FIGURES_REFRESH)):
        *_, third = published()
    assert third.payload["dead_letters"] == 0


@pytest.mark.django_db
def test_an_idle_scheduler_reads_no_delivery_and_wakes_no_thread_for_the_figures(
    redis_keys, django_assert_num_queries
):
    scheduler = Scheduler()

    def looked() -> bool:
        """The scheduler read Redis in a look or a wait, an interval after its last report:
        whether it woke the health thread."""
        scheduler.health_due.clear()
        scheduler.woken_at -= HEALTH_INTERVAL
        scheduler.observe(*processes_and_work())
        return scheduler.health_due.is_set()

    assert looked(), "nothing was published yet"
    scheduler.report_health(scheduler.observed)
    with django_assert_num_queries(0):
        assert not looked()
        scheduler.report_health()  # asked anyway, an idle interval reads no delivery

    # A supervisor starts beating: news for operators, though no delivery moved.
    redis_keys.zadd(heartbeats_key(), {"host:1": time.time() + HEARTBEAT_EXPIRY})
    assert looked()
    scheduler.report_health(scheduler.observed)
    # News within an interval of the last wake waits for the first look after the interval.
    scheduler.health_due.clear()
    redis_keys.zadd(heartbeats_key(), {"host:2": time.time() + HEARTBEAT_EXPIRY})
    scheduler.observe(*processes_and_work())
    assert not scheduler.health_due.is_set()
    assert looked()


@pytest.mark.django_db(transaction=True)  # the scheduler's threads have connections of their own
def test_a_waiting_scheduler_publishes_a_supervisor_that_starts_beating(redis_keys, task_queue):
    def clusters_published() -> list[list[str]]:
        snapshots = Event.objects.filter(type=HEALTH_CHANGED.name).order_by("position")
        return [[cluster["name"] for cluster in e.payload["clusters"]] for e in snapshots]

    scheduler = Scheduler()
    with running(scheduler):
        wait_for(lambda: scheduler.waits() and clusters_published(), timeout=10)
        redis_keys.zadd(heartbeats_key(), {"host:1": time.time() + 60})
        # Seen at the end of a wait for work, an interval after the last wake at the latest.
        wait_for(
            lambda: ["host:1"] in clusters_published(),
            timeout=HEALTH_INTERVAL + WAIT_FOR_WORK + 1,
            interval=0.05,
        )


@pytest.mark.django_db
def test_operators_and_superusers_are_entitled_to_the_figures_and_nobody_else(agent, staff):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    not_staff = UserFactory(username="permitted-customer")
    not_staff.user_permissions.add(Permission.objects.get(codename="view_delivery"))

    assert "operators" in groups_for_user(operator_user())
    assert "operators" in groups_for_user(superuser)
    for user in (agent, staff, not_staff):
        assert "operators" not in groups_for_user(user), user.username


@pytest.mark.django_db(transaction=True)
async def test_the_live_figures_reach_operators_sockets_only(agent, redis_keys):
    operator = await database_sync_to_async(operator_user)()

    async def socket_of(user) -> WebsocketCommunicator:
        token = await database_sync_to_async(lambda: Token.objects.create(user=user).key)()
        headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Token {token}".encode())]
        communicator = WebsocketCommunicator(application, "/ws/stream/", headers=headers)
        assert (await communicator.connect())[0]
        return communicator

    operators, agents = await socket_of(operator), await socket_of(agent)
    await database_sync_to_async(Scheduler().report_health)()

    received = json.loads(await operators.receive_from(timeout=3))
    assert received["type"] == HEALTH_CHANGED.name
    assert received["data"]["scheduler"] is None
    assert await agents.receive_nothing(timeout=0.3)
    for communicator in (operators, agents):
        await communicator.disconnect()


@pytest.mark.django_db
def test_the_page_shows_the_chosen_window_and_listens_for_changes(client, redis_keys):
    delivered(CRM, Status.DEAD, ago=timedelta(minutes=5))
    delivered(EMAIL, Status.SUCCEEDED, ago=timedelta(hours=5), duration_ms=12)
    client.force_login(operator_user())

    day = client.get("/events/health/")
    assert day.status_code == 200
    assert [row["handler"] for row in day.context["handlers"]] == [EMAIL, CRM]
    assert b"js/events-health.js" in day.content and b'name="stream-since"' in day.content
    hour = client.get("/events/health/?window=last_hour")
    assert [row["handler"] for row in hour.context["handlers"]] == [CRM]
    assert b'<strong aria-current="page">Last hour</strong>' in hour.content
    unknown = client.get("/events/health/?window=forever")
    assert unknown.status_code == 200 and unknown.context["window"] == "last_day"


@pytest.mark.django_db
def test_without_redis_the_page_still_shows_the_database_figures(client, monkeypatch):
    class Unreachable:
        list_key = "queue"

        @property
        def connection(self):
            raise RedisConnectionError("Connection refused")

    monkeypatch.setattr("eventplatform.events.health.broker", Unreachable)
    delivered(CRM, Status.DEAD, ago=timedelta(minutes=5))
    client.force_login(operator_user())

    page = client.get("/events/health/")
    assert page.status_code == 200
    assert b"Redis unreachable" in page.content
    assert (page.context["dead_letters"], page.context["scheduler"]) == (1, None)
