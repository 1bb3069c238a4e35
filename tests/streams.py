"""Live-stream clients for tests: sockets authenticated as the platform's clients are."""

import json

from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from eventplatform.asgi import application


async def stream_socket(user, since: str | None = None) -> WebsocketCommunicator:
    """A connected ``/ws/stream/`` socket of ``user``, by API token, resuming after ``since``."""
    key = (await database_sync_to_async(Token.objects.get_or_create)(user=user))[0].key
    path = "/ws/stream/" + (f"?since={since}" if since else "")
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"authorization", f"Token {key}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def next_event(communicator: WebsocketCommunicator, timeout: float = 3) -> dict:
    """The next event the socket receives, as its CloudEvents JSON."""
    return json.loads(await communicator.receive_from(timeout=timeout))
