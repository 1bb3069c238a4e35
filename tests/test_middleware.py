"""Under ASGI, a request crosses between the event loop and its thread for synchronous code
a fixed number of times: each crossing costs CPU and waits for the loop's next turn, behind
whatever else the loop has to do (docs/architecture.md, "A request in the web process")."""

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from django.test import AsyncClient

# For a /healthz: the request's signals (started, and finished as its answer closes), the
# security headers' and the CSP's two phases each, the chain below servestatic into the
# thread and back to the loop for the view's own machinery, the CSRF check's view hook, the
# view.
CROSSINGS = 10
# The middleware below servestatic: none of their request or response phases crosses on its
# own (the CSRF check's view hook does, as every view hook does).
BELOW_SERVESTATIC = ("Session", "Common", "Csrf", "Authentication", "Message", "XFrameOptions")


@pytest.fixture
def crossings(monkeypatch) -> list[str]:
    crossed = []
    to_thread, to_loop = SyncToAsync.__call__, AsyncToSync.__call__

    async def into_thread(self, *args, **kwargs):
        crossed.append(getattr(self.func, "__qualname__", "?"))
        return await to_thread(self, *args, **kwargs)

    def back_to_loop(self, *args, **kwargs):
        crossed.append(getattr(self.awaitable, "__qualname__", "?"))
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", into_thread)
    monkeypatch.setattr(AsyncToSync, "__call__", back_to_loop)
    return crossed


async def test_a_request_crosses_to_its_thread_a_fixed_number_of_times(crossings):
    answer = await AsyncClient().get("/healthz")
    assert answer.status_code == 200
    assert len(crossings) == CROSSINGS, crossings
    phases = ("process_request", "process_response")
    assert not [c for c in crossings if c.startswith(BELOW_SERVESTATIC) and c.endswith(phases)]
