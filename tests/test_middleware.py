"""Under ASGI, a request crosses between the event loop and the thread for synchronous code
a fixed number of times: each crossing costs CPU and waits for the loop's next turn, behind
whatever else the loop has to do (docs/architecture.md, "A request in the web process")."""

import pytest
from asgiref.sync import SyncToAsync
from django.test import AsyncClient

pytestmark = pytest.mark.django_db

# The request's signal receivers; the middleware below servestatic, in one hop; the view's
# middleware hook (CSRF), the view and its rendering; CSP's and security's two phases each.
HOPS = 9


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    crossed = []
    call = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        crossed.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await call(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    return crossed


async def test_a_request_hops_to_its_thread_a_fixed_number_of_times(hops):
    answer = await AsyncClient().get("/healthz")
    assert answer.status_code == 200
    assert len(hops) == HOPS, hops
