"""Attacks on the live stream, over a real channel layer on Redis: sockets from elsewhere,
access that outlives its revocation, one user holding sockets without end, hostile frames,
and what pages and sockets tell a user about everyone else's events."""

import asyncio
import json
import logging
import re

import pytest
import websockets
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import Permission
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from eventplatform.events import EventType, Payload, publish
from eventplatform.events.audience import OPERATORS
from eventplatform.events.realtime import consumers
from eventplatform.events.realtime.consumers import NIL_UUID, CloseCode
from support.audience import AGENTS_ROLE
from tests.events.test_stream import ORIGIN, connect, cookie_of, logged_in, next_event, order
from tests.factories import UserFactory
from tests.stack import Processes, stack_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def closed_with(code: int) -> dict:
    return {"type": "websocket.close", "code": code}


async def browser_socket(client: Client, origin: bytes = ORIGIN[1]):
    return await connect((b"origin", origin), cookie_of(client))


# Where a browser socket comes from.


@pytest.mark.parametrize(
    "origin",
    [b"https://evil.example", b"https://127.0.0.1:8000", b"http://127.0.0.1:9999", b"null"],
    ids=["foreign site", "wrong scheme", "wrong port", "opaque origin"],
)
async def test_a_browser_socket_from_another_origin_is_refused(customer, origin):
    _, connected, _ = await browser_socket(await logged_in(customer), origin)
    assert not connected


@pytest.mark.parametrize(
    "origin", [ORIGIN[1], b"https://app.example"], ids=["its own host", "a trusted origin"]
)
async def test_a_browser_socket_from_an_allowed_origin_is_accepted(customer, origin, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example"]
    communicator, connected, _ = await browser_socket(await logged_in(customer), origin)
    assert connected
    await order(customer.pk, order_id=7)
    assert (await next_event(communicator))["data"]["order_id"] == 7
    await communicator.disconnect()


async def test_a_foreign_host_does_not_make_its_own_origin_allowed(customer):
    """DNS rebinding: the attacker's name resolves to the server, so Host and Origin agree."""
    _, connected, _ = await connect(
        (b"origin", b"http://evil.example:8000"),
        cookie_of(await logged_in(customer)),
        host=b"evil.example:8000",
    )
    assert not connected


async def test_a_session_cookie_without_origin_is_refused(customer):
    _, connected, _ = await connect(cookie_of(await logged_in(customer)))
    assert not connected


async def test_a_deactivated_users_token_opens_no_stream(customer):
    key = (await database_sync_to_async(Token.objects.create)(user=customer)).key
    customer.is_active = False
    await database_sync_to_async(customer.save)()
    communicator, connected, _ = await connect((b"authorization", f"Token {key}".encode()))
    assert connected
    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.UNAUTHENTICATED)


# Entitlements follow the user while the socket is open.


def agents_role() -> Role:
    return Role.objects.get(name=AGENTS_ROLE)


def remove_role(agent) -> None:
    agent.groups.remove(agents_role())


def remove_member(agent) -> None:
    agents_role().user_set.remove(agent)


def clear_roles(agent) -> None:
    agent.groups.clear()


def clear_members(agent) -> None:
    agents_role().user_set.clear()


def delete_role(agent) -> None:
    agents_role().delete()


def rename_role(agent) -> None:
    role = agents_role()
    role.name = "former agents"
    role.save()


@pytest.mark.parametrize(
    "revoke", [remove_role, remove_member, clear_roles, clear_members, delete_role, rename_role]
)
async def test_an_agent_who_loses_the_role_stops_receiving_the_queue_at_once(
    agent, customer, revoke
):
    communicator, _, _ = await connect(user=agent)
    await order(customer.pk, order_id=1)
    assert (await next_event(communicator))["data"]["order_id"] == 1

    await database_sync_to_async(revoke)(agent)
    await order(customer.pk, order_id=2)
    await order(agent.pk, order_id=3)

    assert (await next_event(communicator))["data"]["order_id"] == 3, "their own events only"
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_user_who_gains_a_role_receives_its_events_without_reconnecting(customer):
    other = await database_sync_to_async(UserFactory)(username="other-customer")
    communicator, _, _ = await connect(user=customer)

    await database_sync_to_async(customer.groups.add)(
        (await database_sync_to_async(Role.objects.get_or_create)(name=AGENTS_ROLE))[0]
    )
    await order(other.pk, order_id=1)

    assert (await next_event(communicator))["data"]["order_id"] == 1
    await communicator.disconnect()


class WidgetInspected(Payload):
    order_id: int


# What only operators see on the stream, as the event health page's figures are.
WIDGET_INSPECTED = EventType(
    "sample.widget.inspected.v1", WidgetInspected, audience=lambda p: [OPERATORS]
)


def view_deliveries() -> Permission:
    return Permission.objects.get(content_type__app_label="events", codename="view_delivery")


def make_operator(directly: bool):
    operator = UserFactory(username="operator", is_staff=True)
    if directly:
        operator.user_permissions.add(view_deliveries())
    else:
        role, _ = Role.objects.get_or_create(name="operations")
        role.permissions.add(view_deliveries())
        operator.groups.add(role)
    return operator


REVOCATIONS = {
    "user loses it": (True, lambda op: op.user_permissions.remove(view_deliveries())),
    "permission leaves user": (True, lambda op: view_deliveries().user_set.remove(op)),
    "permission's users cleared": (True, lambda op: view_deliveries().user_set.clear()),
    "role loses it": (False, lambda op: Role.objects.get(name="operations").permissions.clear()),
    "permission leaves role": (
        False,
        lambda op: view_deliveries().group_set.remove(Role.objects.get(name="operations")),
    ),
    "permission's roles cleared": (False, lambda op: view_deliveries().group_set.clear()),
}


@pytest.mark.parametrize("how", REVOCATIONS)
async def test_an_operator_who_loses_the_permission_stops_receiving_operators_events(how):
    directly, revoke = REVOCATIONS[how]
    operator = await database_sync_to_async(make_operator)(directly)
    communicator, _, _ = await connect(user=operator)
    inspect = database_sync_to_async(lambda n: publish(WIDGET_INSPECTED, {"order_id": n}))
    await inspect(1)
    assert (await next_event(communicator))["data"]["order_id"] == 1

    await database_sync_to_async(revoke)(operator)
    await inspect(2)
    await order(operator.pk, order_id=3)

    assert (await next_event(communicator))["data"]["order_id"] == 3, "their own events only"
    await communicator.disconnect()


def deactivate(user) -> None:
    user.is_active = False
    user.save()


def change_password(user) -> None:
    user.set_password("a new secret")
    user.save()


def delete_token(user) -> None:
    Token.objects.filter(user=user).delete()


def delete_user(user) -> None:
    user.delete()


@pytest.mark.parametrize("sign_out", [deactivate, delete_token, delete_user])
async def test_a_token_socket_closes_when_its_login_ends(agent, sign_out):
    communicator, _, _ = await connect(user=agent)
    await database_sync_to_async(sign_out)(agent)
    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.SIGNED_OUT)


@pytest.mark.parametrize("sign_out", [deactivate, change_password, delete_user])
async def test_a_browser_socket_closes_when_its_login_ends(agent, sign_out):
    communicator, _, _ = await browser_socket(await logged_in(agent))
    await database_sync_to_async(sign_out)(agent)
    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.SIGNED_OUT)


async def test_logging_out_closes_that_browsers_sockets_and_no_others(agent):
    browser, other_browser = await logged_in(agent), await logged_in(agent)
    communicator, _, _ = await browser_socket(browser)
    other, _, _ = await browser_socket(other_browser)

    response = await database_sync_to_async(browser.post)(reverse("logout"))
    assert response.status_code == 302

    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.SIGNED_OUT)
    await order(agent.pk, order_id=1)
    assert (await next_event(other))["data"]["order_id"] == 1
    await other.disconnect()


async def test_a_socket_whose_entitlements_cannot_be_checked_closes(agent, monkeypatch):
    communicator, _, _ = await connect(user=agent)

    def database_away(user):
        raise OperationalError("the database is away")

    monkeypatch.setattr(consumers, "groups_for_user", database_away)
    await database_sync_to_async(remove_role)(agent)
    await order(agent.pk)

    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.SERVER_ERROR)


@pytest.mark.reliability
async def test_a_change_made_in_one_process_reaches_a_socket_held_by_another(
    agent, customer, tmp_path
):
    """As when an operator takes a role away in the admin, served by another web process."""
    processes = Processes(stack_env(), tmp_path)
    url = await asyncio.to_thread(processes.start_web, "web")
    token = (await database_sync_to_async(Token.objects.create)(user=agent)).key
    try:
        async with websockets.connect(
            url.replace("http://", "ws://") + "/ws/stream/",
            additional_headers={"Authorization": f"Token {token}"},
        ) as socket:
            await database_sync_to_async(remove_role)(agent)
            await order(customer.pk, order_id=1)
            await order(agent.pk, order_id=2)
            event = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert event["data"]["order_id"] == 2, "the queue's events stopped"

            await database_sync_to_async(deactivate)(agent)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert closed.value.rcvd.code == CloseCode.SIGNED_OUT
    finally:
        await asyncio.to_thread(processes.stop_all)


# One user, many sockets.


async def test_a_user_holds_no_more_sockets_than_the_limit(customer, agent, settings):
    settings.EVENTS = {**settings.EVENTS, "SOCKETS_PER_USER": 2}
    first, second = [(await connect(user=customer))[0] for _ in range(2)]

    refused, connected, _ = await connect(user=customer)
    assert connected
    assert await refused.receive_output(timeout=3) == closed_with(CloseCode.TOO_MANY_SOCKETS)
    others, _, _ = await connect(user=agent)
    await order(customer.pk, order_id=1)
    assert (await next_event(others))["data"]["order_id"] == 1, "another user is not limited"

    await first.disconnect()
    again, _, _ = await connect(user=customer)
    await order(customer.pk, order_id=2)
    assert (await next_event(again))["data"]["order_id"] == 2, "a closed socket frees its slot"
    for communicator in (second, others, again):
        await communicator.disconnect()


# What a client sends.


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "{not json"},
        {"text_data": '{"since": "00000000-0000-0000-0000-000000000000"}'},
        {"bytes_data": b"\x00\xff" * 8},
        {"text_data": "x" * 1_000_000},
    ],
    ids=["malformed", "well-formed", "binary", "oversized"],
)
async def test_a_client_that_sends_anything_is_closed_without_an_error(customer, frame, caplog):
    communicator, _, _ = await connect(user=customer)
    await communicator.send_to(**frame)
    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.UNSUPPORTED_DATA)
    await communicator.send_to(**frame)  # whatever follows the close is ignored too
    await communicator.disconnect()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_refused_socket_that_sends_a_frame_raises_nothing():
    communicator, _, _ = await connect(ORIGIN)
    assert await communicator.receive_output(timeout=3) == closed_with(CloseCode.UNAUTHENTICATED)
    await communicator.send_to(text_data="hello")
    await communicator.disconnect()


# What a user learns of everyone else's events.


@database_sync_to_async
def live_page_meta(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("support:ticket-list")).content.decode()
    return dict(re.findall(r'<meta name="([a-z-]+)" content="([^"]*)">', page))


async def test_a_page_resumes_from_the_newest_event_its_reader_may_see(customer):
    other = await database_sync_to_async(UserFactory)(username="other-customer")
    await order(other.pk, order_id=1)
    assert (await live_page_meta(customer))["stream-since"] == NIL_UUID

    mine = await order(customer.pk, order_id=2)
    await order(other.pk, order_id=3)
    meta = await live_page_meta(customer)
    assert meta["stream-since"] == str(mine.id)
    assert meta["login-url"] == reverse("login")

    await order(other.pk, order_id=4)
    await order(customer.pk, order_id=5)
    communicator, _, _ = await connect(user=customer, since=meta["stream-since"])
    assert (await next_event(communicator))["data"]["order_id"] == 5
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
