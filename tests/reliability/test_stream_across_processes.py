"""The stream across real server processes: fan-out between processes, a server restart, and
a client that stops reading."""

import json
import socket

import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_ORDERED
from tests.factories import UserFactory
from tests.stack import Processes, stack_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_web_processes(django_db_setup, tmp_path):
    processes = Processes(stack_env(), tmp_path)
    try:
        processes.start_web("a")
        processes.start_web("b")
        yield processes
    finally:
        processes.stop_all()


def socket_to(url: str, token: str, since: str | None = None, **options):
    query = f"?since={since}" if since else ""
    return connect(
        url.replace("http://", "ws://") + "/ws/stream/" + query,
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=10,
        **options,
    )


def received(socket) -> dict:
    return json.loads(socket.recv(timeout=5))


def test_an_event_committed_anywhere_reaches_sockets_on_every_web_process(two_web_processes):
    customer = UserFactory(username="customer")
    token = Token.objects.create(user=customer).key
    with (
        socket_to(two_web_processes.urls["a"], token) as on_a,
        socket_to(two_web_processes.urls["b"], token) as on_b,
    ):
        event = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": customer.pk})
        assert received(on_a)["id"] == received(on_b)["id"] == str(event.id)


def test_after_a_server_restart_the_client_resumes_without_loss_or_repeat(two_web_processes):
    customer = UserFactory(username="customer")
    token = Token.objects.create(user=customer).key
    with socket_to(two_web_processes.urls["a"], token) as socket:
        first = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": customer.pk})
        assert received(socket)["id"] == str(first.id)

        two_web_processes.stop("a")
        missed = [
            publish(WIDGET_ORDERED, {"order_id": n, "customer_id": customer.pk}) for n in (2, 3)
        ]
        two_web_processes.start_web("a")

    with socket_to(two_web_processes.urls["a"], token, since=str(first.id)) as socket:
        live = publish(WIDGET_ORDERED, {"order_id": 4, "customer_id": customer.pk})
        ids = [received(socket)["id"] for _ in range(3)]
        assert ids == [str(e.id) for e in [*missed, live]]
        with pytest.raises(TimeoutError):
            socket.recv(timeout=0.5)


def test_a_socket_that_never_reads_holds_back_no_other(two_web_processes):
    customer = UserFactory(username="customer")
    token = Token.objects.create(user=customer).key
    url = two_web_processes.urls["a"]
    # A client that stops reading: a small receive buffer, and nothing taken from it. (Closing
    # it with 4408 once the server's buffer for it is full is shown in tests/events.)
    stalled_connection = socket.socket()
    stalled_connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled_connection.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    with (
        socket_to(url, token, sock=stalled_connection, max_queue=1),
        socket_to(url, token) as reader,
    ):
        order = {"customer_id": customer.pk, "note": "x" * 1000}
        published = []
        for _ in range(10):
            with transaction.atomic():
                published += [
                    str(publish(WIDGET_ORDERED, {**order, "order_id": n}).id) for n in range(100)
                ]

        assert [received(reader)["id"] for _ in published] == published
