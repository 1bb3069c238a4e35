"""Sending to the stream hubs of every web process, over the channel layer.

An event is encoded once, here, and sent as one message to the ``stream`` group, whose
members are the hubs (one per web process), not the sockets: each hub fans it out to its own
sockets. Sockets that join and leave never touch Redis groups. A change to what a user may
see travels the same way, so that their sockets on every process check it.
"""

import asyncio
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from ..envelope import to_json
from ..models import Event

STREAM_GROUP = "stream"
SEND_TIMEOUT = 5


def stream_message(event: Event) -> dict[str, Any]:
    return {
        "type": "stream.event",
        "position": event.position,
        "audience": list(event.audience),
        "text": to_json(event).decode(),
        "sent_at": time.time(),
    }


def broadcast(event: Event) -> None:
    """Push ``event`` to every process's hub (from synchronous code, after commit)."""
    _send_to_hubs(stream_message(event))


def entitlements_changed(*user_ids: int, ended_session: str = "") -> None:
    """Have the open sockets of these users, on every process, check again who they are and
    what they may see, once the current transaction commits.

    A socket whose login ended (``ended_session`` is a session logged out) closes; one
    whose groups changed leaves those it lost and joins those it gained. Apps call it when
    something their ``@entitlement`` reads changes; the backbone does for roles, users,
    tokens and logouts.
    """
    if not user_ids:
        return
    message = {
        "type": "stream.recheck",
        "user_ids": list(user_ids),
        "ended_session": ended_session,
    }
    transaction.on_commit(lambda: _send_to_hubs(message), robust=True)


def _send_to_hubs(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    _sender().run(layer.group_send(STREAM_GROUP, message))


class _LoopThread:
    """An event loop on a daemon thread, so that synchronous code reuses one Redis pool
    instead of opening a loop and a connection per message as ``async_to_sync`` would."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="stream-sender", daemon=True).start()

    def run(self, coroutine: Coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(SEND_TIMEOUT)


_senders: dict[int, _LoopThread] = {}
_senders_lock = threading.Lock()


def _sender() -> _LoopThread:
    # Per process: a forked worker inherits the dict but not the thread.
    with _senders_lock:
        pid = os.getpid()
        if pid not in _senders:
            _senders.clear()
            _senders[pid] = _LoopThread()
        return _senders[pid]
