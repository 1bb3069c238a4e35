"""The operators' event list and event detail read in a fixed number of queries, however
many rows they show.

Each runs with 1 row and with 20 and pins the same count, so an outcome, a delivery or an
attempt read once per row (an N+1) fails it. The client is authenticated without a query.
"""

import pytest
from rest_framework.test import APIClient

from eventplatform.events import RetryPolicy, publish, subscribe
from eventplatform.events.delivery import retry_now
from eventplatform.events.models import Delivery
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db

# Count, the page of events with their outcomes.
EVENT_LIST_QUERIES = 2
# The event with its outcome, its deliveries, their attempts.
EVENT_DETAIL_QUERIES = 3


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


@pytest.fixture
def reactions(rows, handlers, task_queue, django_capture_on_commit_callbacks):
    """One event, with ``rows`` deliveries of two attempts each: failed, then retried."""
    for n in range(rows):
        subscribe(WIDGET_ORDERED, name=f"sample.reservation-{n}", retry=RetryPolicy(delays=()))(
            reserve_stock
        )
    with django_capture_on_commit_callbacks(execute=True):
        event = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 1})
    task_queue.run()
    with django_capture_on_commit_callbacks(execute=True):
        retry_now(Delivery.objects.all())
    task_queue.run()
    return event


def test_the_event_detail(admin_user, reactions, rows, django_assert_num_queries):
    client = APIClient()
    client.force_authenticate(admin_user)
    with django_assert_num_queries(EVENT_DETAIL_QUERIES):
        response = client.get(f"/api/v1/events/{reactions.id}/")
    deliveries = response.json()["deliveries"]
    assert len(deliveries) == rows
    assert {len(delivery["history"]) for delivery in deliveries} == {2}
