"""Sending events to the stream hubs of every web process, over the channel layer.

An event is encoded once, here, and sent as one message to the ``stream`` group, whose
members are the hubs (one per web process), not the sockets: each hub fans it out to its own
sockets. Sockets that join and leave never touch Redis groups.
"""

import asyncio
import os
import threading
import time
from collections.abc import Coroutine
from typing import Any

from channels.layers import get_channel_layer

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
    layer = get_channel_layer()
    _sender().run(layer.group_send(STREAM_GROUP, stream_message(event)))


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
