"""The live stream carries a customer's own ticket events and never an internal note."""

import json

import pytest
from channels.db import database_sync_to_async

from support import services
from tests.factories import UserFactory
from tests.streams import next_event, stream_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def received(communicator, count: int) -> list[dict]:
    return [await next_event(communicator) for _ in range(count)]


@database_sync_to_async
def a_day_at_the_help_desk(customer, other, agent):
    mine = services.ticket_create(customer=customer, subject="Mine", body="Help")
    services.ticket_create(customer=other, subject="Theirs", body="Private")
    services.message_post(ticket=mine, author=agent, body="Customer is a VIP", internal=True)
    services.message_post(ticket=mine, author=agent, body="On it!")
    services.ticket_update(ticket=mine, by=agent, status="pending")
    return mine


async def test_customers_see_their_own_ticket_live_and_agents_see_everything(customer, agent):
    other = await database_sync_to_async(UserFactory)(username="other-customer")
    customer_socket = await stream_socket(customer)
    agent_socket = await stream_socket(agent)

    mine = await a_day_at_the_help_desk(customer, other, agent)

    seen = await received(customer_socket, 3)
    assert [e["type"] for e in seen] == [
        "support.ticket.created.v1",
        "support.ticket.message_posted.v1",
        "support.ticket.status_changed.v1",
    ]
    assert all(e["data"]["ticket_id"] == mine.pk for e in seen)
    assert seen[1]["data"]["body"] == "On it!"
    assert seen[1]["data"]["from_agent"] is True
    assert await customer_socket.receive_nothing(timeout=0.3)

    agent_seen = await received(agent_socket, 5)
    assert [e["type"].split(".")[2] for e in agent_seen] == [
        "created",
        "created",
        "note_added",
        "message_posted",
        "status_changed",
    ]
    assert agent_seen[2]["data"]["body"] == "Customer is a VIP"
    for communicator in (customer_socket, agent_socket):
        await communicator.disconnect()


async def test_resuming_replays_only_what_the_customer_may_see(customer, agent):
    other = await database_sync_to_async(UserFactory)(username="other-customer")
    await a_day_at_the_help_desk(customer, other, agent)

    resumed = await stream_socket(customer, since="00000000-0000-0000-0000-000000000000")
    replayed = await received(resumed, 3)
    assert [e["type"].split(".")[2] for e in replayed] == [
        "created",
        "message_posted",
        "status_changed",
    ]
    assert "VIP" not in json.dumps(replayed) and "Theirs" not in json.dumps(replayed)
    assert await resumed.receive_nothing(timeout=0.3)
    await resumed.disconnect()
