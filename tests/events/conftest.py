import pytest

from eventplatform.events.subscriptions import subscribe, unsubscribe


@pytest.fixture
def handlers():
    """Subscribe throwaway handlers for one test: ``handlers.add(event_type, func, **policy)``."""

    class Registry:
        names: list[str] = []

        def add(self, event_type, func, **policy):
            name = f"{func.__module__}.{func.__qualname__}"
            subscribe(event_type, name=name, **policy)(func)
            self.names.append(name)
            return func

    registry = Registry()
    yield registry
    for name in registry.names:
        unsubscribe(name)
