"""Test helpers for code that declares, publishes and reacts to events."""

from collections.abc import Iterator
from contextlib import contextmanager

from . import subscriptions


@contextmanager
def isolated_handlers() -> Iterator[None]:
    """Handlers subscribed inside the block are gone after it; the apps' handlers stay.

    A test subscribes throwaway handlers in one; two blocks in a row play two releases of the
    code (a handler renamed or moved between them).
    """
    saved = dict(subscriptions._handlers)
    try:
        yield
    finally:
        subscriptions._handlers.clear()
        subscriptions._handlers.update(saved)
