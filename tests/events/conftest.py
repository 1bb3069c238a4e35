import pytest

from eventplatform.events import isolated_handlers, subscribe


@pytest.fixture
def handlers():
    """Subscribe throwaway handlers for one test: ``handlers.add(event_type, func, **policy)``."""

    class Registry:
        def add(self, event_type, func, **policy):
            subscribe(event_type, name=f"{func.__module__}.{func.__qualname__}", **policy)(func)
            return func

    with isolated_handlers():
        yield Registry()
