"""Long-running processes of the backbone (the worker supervisor, the scheduler): who they are,
and running them until they are told to stop."""

import os
import signal
import socket
import threading
from collections.abc import Callable


def identity() -> str:
    """This process, as operators find it: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Stopping(threading.Event):
    """A request to stop, which a wait on files (``select()``, ``poll()``) sees beside the
    others: it turns readable once set."""

    def __init__(self) -> None:
        super().__init__()
        self._readable, self._writable = os.pipe()

    def set(self) -> None:
        super().set()
        os.write(self._writable, b"\0")

    def fileno(self) -> int:
        return self._readable


def run_until_signalled(loop: Callable[[Stopping], None]) -> None:
    """Run ``loop(stopping)`` until SIGTERM, SIGINT or SIGHUP sets ``stopping``."""
    stopping = Stopping()

    def stop(signum, frame) -> None:
        # From another thread: the handler may interrupt this one while it holds the lock
        # inside stopping.wait(), and Event.set() would then wait for it forever.
        threading.Thread(target=stopping.set, daemon=True).start()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    loop(stopping)
