"""The live stream over a real channel layer on Redis: who may connect, who sees what, resume."""

import asyncio
import copy
import json
import logging
import sys
import threading
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.db import connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from eventplatform.asgi import application
from eventplatform.events.outbox import publish
from eventplatform.events.realtime import hub
from eventplatform.events.realtime.consumers import CloseCode
from eventplatform.events.realtime.hub import Offer, get_hub
from eventplatform.events.realtime.pages import newest_event_id
from tests.events.sample import WIDGET_ORDERED
from tests.factories import PASSWORD
from tests.receivers import SilentServer, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# A browser on a page of http://127.0.0.1:8000 opens its socket on the same host.
HOST = b"127.0.0.1:8000"
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@database_sync_to_async
def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@database_sync_to_async
def logged_in(user) -> Client:
    """A browser session of ``user``."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def cookie_of(browser: Client) -> tuple[bytes, bytes]:
    return (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())


@database_sync_to_async
def order(customer_id: int, order_id: int = 1):
    return publish(WIDGET_ORDERED, {"order_id": order_id, "customer_id": customer_id})


async def connect(*headers, since=None, user=None, host=HOST):
    headers = [(b"host", host), *headers]
    if user is not None:
        headers.append((b"authorization", f"Token {await token_for(user)}".encode()))
    path = "/ws/stream/" + (f"?since={since}" if since else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def next_event(communicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=3))


async def test_an_anonymous_socket_is_closed_with_4401():
    communicator, connected, _ = await connect(ORIGIN)
    assert connected
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CloseCode.UNAUTHENTICATED,
    }


async def test_a_wrong_token_is_anonymous(customer):
    communicator, connected, _ = await connect((b"authorization", b"Token not-a-key"))
    assert connected
    assert (await communicator.receive_output(timeout=3))["code"] == CloseCode.UNAUTHENTICATED


async def test_a_session_user_receives_their_events_as_cloudevents(customer):
    communicator, connected, _ = await connect(ORIGIN, cookie_of(await logged_in(customer)))
    assert connected

    event = await order(customer.pk, order_id=42)
    received = await next_event(communicator)
    assert received == {
        "specversion": "1.0",
        "id": str(event.id),
        "source": "/sample",
        "type": "sample.widget.ordered.v1",
        "time": received["time"],
        "datacontenttype": "application/json",
        "position": event.position,
        "correlationid": event.correlation_id,
        "data": {"order_id": 42, "customer_id": customer.pk, "note": ""},
    }
    assert received["time"].startswith(event.time.strftime("%Y-%m-%dT%H:%M:%S"))
    await communicator.disconnect()


async def test_an_api_client_with_a_token_needs_no_origin(agent, customer):
    communicator, connected, _ = await connect(user=agent)
    assert connected
    await order(customer.pk)
    assert (await next_event(communicator))["type"] == "sample.widget.ordered.v1"
    await communicator.disconnect()


async def test_users_never_receive_events_of_another_audience(customer, agent, db):
    from tests.factories import UserFactory

    other = await database_sync_to_async(UserFactory)(username="other-customer")
    mine, _, _ = await connect(user=customer)
    theirs, _, _ = await connect(user=other)
    agents, _, _ = await connect(user=agent)

    await order(other.pk, order_id=1)
    await order(customer.pk, order_id=2)

    assert (await next_event(mine))["data"]["order_id"] == 2
    assert (await next_event(theirs))["data"]["order_id"] == 1
    assert [(await next_event(agents))["data"]["order_id"] for _ in range(2)] == [1, 2]
    for communicator in (mine, theirs, agents):
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()


async def test_a_reconnecting_socket_first_gets_what_it_missed_in_order(customer):
    from tests.factories import UserFactory

    other = await database_sync_to_async(UserFactory)(username="other-customer")
    communicator, _, _ = await connect(user=customer)
    seen = await order(customer.pk, order_id=1)
    assert (await next_event(communicator))["id"] == str(seen.id)
    await communicator.disconnect()

    await order(customer.pk, order_id=2)
    await order(other.pk, order_id=3)
    await order(customer.pk, order_id=4)

    communicator, _, _ = await connect(user=customer, since=seen.id)
    assert [(await next_event(communicator))["data"]["order_id"] for _ in range(2)] == [2, 4]
    await order(customer.pk, order_id=5)
    assert (await next_event(communicator))["data"]["order_id"] == 5
    assert await communicator.receive_nothing(timeout=0.3), "nothing twice"
    await communicator.disconnect()


async def test_a_socket_that_missed_too_much_is_told_to_reload(customer, settings):
    settings.EVENTS = {**settings.EVENTS, "RESUME_LIMIT": 2}
    seen = await order(customer.pk, order_id=1)
    for order_id in (2, 3, 4):
        await order(customer.pk, order_id=order_id)
    communicator, _, _ = await connect(user=customer, since=seen.id)
    assert (await communicator.receive_output(timeout=3))["code"] == CloseCode.TOO_FAR_BEHIND


async def test_a_socket_resuming_from_an_unknown_event_is_told_to_reload(customer):
    for since in ("4c1c2d50-0000-4000-8000-000000000000", "not-an-id"):
        communicator, _, _ = await connect(user=customer, since=since)
        assert (await communicator.receive_output(timeout=3))["code"] == CloseCode.TOO_FAR_BEHIND


async def test_a_socket_that_cannot_keep_up_is_closed_with_4408_not_silently_skipped(
    customer, settings
):
    settings.EVENTS = {**settings.EVENTS, "SOCKET_BUFFER": 2}
    communicator, _, _ = await connect(user=customer)
    hub = get_hub()
    # Five events arrive before the socket's sender gets a turn: its buffer holds two.
    for position in range(1, 6):
        hub.fan_out(
            {
                "position": position,
                "audience": [f"user.{customer.pk}"],
                "text": json.dumps({"position": position}),
                "sent_at": 1e12,
            }
        )
    outputs = [await communicator.receive_output(timeout=3) for _ in range(3)]
    assert [json.loads(o["text"])["position"] for o in outputs[:2]] == [1, 2]
    assert outputs[2] == {"type": "websocket.close", "code": CloseCode.TOO_SLOW}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite lets one transaction write at a time"
)
async def test_a_resume_never_skips_an_event_that_committed_after_the_one_seen(customer):
    """A transaction writes an event, another writes a later one and commits first; a client
    sees that one, goes away, and resumes after the first transaction commits."""
    written, commit, late = threading.Event(), threading.Event(), []

    def slow_transaction():
        try:
            with transaction.atomic():
                late.append(publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": customer.pk}))
                written.set()
                commit.wait(timeout=10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_transaction)
    writer.start()
    assert await asyncio.to_thread(written.wait, 10)

    communicator, _, _ = await connect(user=customer)
    seen = await order(customer.pk, order_id=2)
    assert (await next_event(communicator))["id"] == str(seen.id)
    await communicator.disconnect()
    # A page rendered now reflects the same point, and resumes from it too.
    assert await database_sync_to_async(newest_event_id)(customer) == str(seen.id)

    commit.set()
    await asyncio.to_thread(writer.join, 10)
    assert late[0].position < seen.position, "committed last, numbered first"

    communicator, _, _ = await connect(user=customer, since=seen.id)
    assert (await next_event(communicator))["id"] == str(late[0].id)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


class RedisDoor:
    """A TCP proxy in front of the real Redis: shut it for an outage, open it to end one."""

    def __init__(self, upstream: str) -> None:
        url = urlsplit(upstream)
        self.upstream = (url.hostname, url.port or 6379)
        self.port = free_port()
        self.address = url._replace(netloc=f"127.0.0.1:{self.port}").geturl()
        self.ends: set[asyncio.StreamWriter] = set()
        self.pipes: set[asyncio.Task] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def shut(self) -> None:
        self.server.close()
        for writer in self.ends:
            writer.close()
        await asyncio.gather(*self.pipes)
        await self.server.wait_closed()

    async def _pipe(self, client_reader, client_writer) -> None:
        self.pipes.add(asyncio.current_task())
        redis_reader, redis_writer = await asyncio.open_connection(*self.upstream)
        self.ends |= {client_writer, redis_writer}
        await asyncio.gather(
            self._copy(client_reader, redis_writer),
            self._copy(redis_reader, client_writer),
            return_exceptions=True,
        )

    @staticmethod
    async def _copy(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


def channel_layer_at(settings, address: str) -> None:
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"][0]["address"] = address
    settings.CHANNEL_LAYERS = layers


def realtime_errors(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
        and record.name.startswith("eventplatform.events.realtime")
    ]


@pytest.fixture(params=["refusing", "silent"])
def unreachable_redis(request, settings, monkeypatch):
    """The channel layer pointed at a Redis that refuses connections, or at one that accepts
    them and never answers."""
    if request.param == "refusing":
        channel_layer_at(settings, f"redis://127.0.0.1:{free_port()}/0")
        yield
        return
    silent = SilentServer()
    channel_layer_at(settings, f"redis://127.0.0.1:{silent.port}/0")
    monkeypatch.setattr(hub, "REDIS_TIMEOUT", 0.5)
    yield
    silent.stop()


async def test_without_redis_a_socket_is_told_to_retry_not_refused(
    unreachable_redis, customer, caplog
):
    communicator, connected, _ = await connect(user=customer)
    assert connected, "a refusal would reach the browser as a bare 403"
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CloseCode.UNAVAILABLE,
    }
    await communicator.disconnect()
    assert realtime_errors(caplog) == []


@pytest.fixture
async def redis_door(settings):
    """The channel layer reaching Redis through a door the test shuts and opens again."""
    door = RedisDoor(settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"])
    await door.open()
    channel_layer_at(settings, door.address)
    yield door
    await door.shut()


async def test_after_a_redis_outage_a_reconnecting_socket_catches_up(redis_door, customer, caplog):
    communicator, _, _ = await connect(user=customer)
    seen = await order(customer.pk, order_id=1)
    assert (await next_event(communicator))["id"] == str(seen.id)

    await redis_door.shut()
    assert (await communicator.receive_output(timeout=3))["code"] == CloseCode.TOO_SLOW
    await communicator.disconnect()
    communicator, connected, _ = await connect(user=customer, since=seen.id)
    assert connected
    assert (await communicator.receive_output(timeout=3))["code"] == CloseCode.UNAVAILABLE
    await communicator.disconnect()
    await order(customer.pk, order_id=2)

    await redis_door.open()
    communicator, _, _ = await connect(user=customer, since=seen.id)
    assert (await next_event(communicator))["data"]["order_id"] == 2
    await order(customer.pk, order_id=3)
    assert (await next_event(communicator))["data"]["order_id"] == 3
    await communicator.disconnect()
    assert realtime_errors(caplog) == [
        "stream hub lost the channel layer; closing sockets to resume"
    ]


class Socket:
    """A socket as the hub sees it: it records what it is offered."""

    def __init__(self) -> None:
        self.offered: list[int] = []

    def offer(self, event: Offer) -> None:
        self.offered.append(event.position)

    def lagged(self) -> None:
        pass

    def recheck(self, ended_session: str) -> None:
        pass


def hub_lines_run(action, budget: int) -> int:
    """The lines of the hub's code that ``action()`` runs: work counted, not timed. Past
    ``budget`` the count stops with a failure rather than run on for minutes."""
    lines = 0

    def count_lines(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > budget:
                raise AssertionError(f"the hub ran more than {budget:,} lines")
        return count_lines

    def trace(frame, event, arg):
        return count_lines if frame.f_code.co_filename == hub.__file__ else None

    sys.settrace(trace)
    try:
        action()
    finally:
        sys.settrace(None)
    return lines


async def test_sockets_closing_at_once_cost_the_hub_only_their_own_groups(settings):
    """6,000 sockets closing together (a server's clients losing their network) must not
    stall the process: each leaves its own groups, never walking everyone's."""
    settings.EVENTS = {**settings.EVENTS, "SOCKETS_PER_USER": 2}
    stream_hub = get_hub()
    sockets = [Socket() for _ in range(12_000)]
    for n, socket in enumerate(sockets):
        user_id = n // 2
        await stream_hub.join(socket, user_id, [f"user.{user_id}", "agents"])
    leaving, staying = sockets[:6_000], sockets[6_000:]

    def leave_all():
        for socket in leaving:
            stream_hub.leave(socket)

    # A few lines per group a socket leaves; walking every group would run tens of millions.
    assert hub_lines_run(leave_all, budget=30 * len(leaving)) <= 30 * len(leaving)

    stream_hub.fan_out({"position": 1, "audience": ["agents"], "text": "{}", "sent_at": 1e12})
    assert [socket.offered for socket in leaving] == [[]] * len(leaving)
    assert [socket.offered for socket in staying] == [[1]] * len(staying)
    for socket in staying:
        stream_hub.leave(socket)
    assert stream_hub.members == {} and stream_hub.sockets_of == {}


async def test_a_socket_opens_and_closes_while_the_views_thread_is_busy(customer):
    """A socket's handshake and its close never wait for the thread Django's synchronous
    views share: one wait per socket, thousands of sockets reconnecting or closing at once
    held every view back by seconds."""
    browser = await logged_in(customer)
    views_free = threading.Event()
    busy_view = asyncio.ensure_future(sync_to_async(views_free.wait)())
    try:
        socket, connected, _ = await connect(ORIGIN, cookie_of(browser))
        assert connected
        await socket.send_input({"type": "websocket.disconnect", "code": 1001})
        await asyncio.wait_for(socket.future, timeout=3)  # the consumer ended by itself
        assert get_hub().sockets_of == {}
    finally:
        views_free.set()
        await busy_view
