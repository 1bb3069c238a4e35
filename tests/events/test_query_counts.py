"""The operators' event list reads in a fixed number of queries, however long it is.

It runs with 1 event and with 20 and pins the same count, so an outcome or a delivery read
once per event (an N+1) fails it. The client is authenticated without a query.
"""

import pytest
from rest_framework.test import APIClient

from eventplatform.events import RetryPolicy, publish
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db

# Count, the page of events with their outcomes.
EVENT_LIST_QUERIES = 2


def record_order(event):
    pass


def reserve_stock(event):
    if event.data.order_id % 2:
        raise ConnectionError("stock service unreachable")


@pytest.fixture(params=[1, 20], ids=lambda rows: f"{rows} rows")
def rows(request) -> int:
    return request.param


@pytest.fixture
def orders(rows, handlers, task_queue, django_capture_on_commit_callbacks):
    """``rows`` events, delivered to two handlers; every other one ends as a dead letter."""
    handlers.add(WIDGET_ORDERED, record_order)
    handlers.add(WIDGET_ORDERED, reserve_stock, retry=RetryPolicy(delays=()))
    with django_capture_on_commit_callbacks(execute=True):
        events = [publish(WIDGET_ORDERED, {"order_id": n, "customer_id": 1}) for n in range(rows)]
    task_queue.run()
    return events


def test_the_event_list(admin_user, orders, rows, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(admin_user)
    with django_assert_num_queries(EVENT_LIST_QUERIES):
        response = client.get("/api/v1/events/")
    oldest_first = reversed(response.json()["results"])
    assert [event["outcome"] for event in oldest_first] == [
        "dead" if order % 2 else "succeeded" for order in range(rows)
    ]
