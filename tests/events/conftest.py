import pytest

from eventplatform.events.subscriptions import subscribe, unsubscribe


@pytest.fixture
def handlers():
    """Subscribe throwaway handlers for one test: ``handlers.add(event_type, func, **policy)``."""

    class Registry:
        names: list[str] = []

        def add(self, event_type, func, **policy):
            subscribe(event_type, **policy)(func)
            self.names.append(f"{func.__module__}.{func.__qualname__}")
            return func

    registry = Registry()
    yield registry
    for name in registry.names:
        unsubscribe(name)
