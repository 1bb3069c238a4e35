"""The staff API over the outbox, as an operator's script would use it."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from eventplatform.events.models import Delivery
from eventplatform.events.outbox import publish
from eventplatform.events.subscriptions import RetryPolicy
from tests.clients import api_client_for
from tests.events.sample import WIDGET_ORDERED
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
Status = Delivery.Status
receiver = {"up": False}
notified: list[int] = []


def notify_warehouse(event):
    if not receiver["up"]:
        raise ConnectionError("warehouse unreachable")
    notified.append(event.data.order_id)


def log_order(event):
    pass


@pytest.fixture
def orders(handlers, task_queue, django_capture_on_commit_callbacks):
    """Two orders: one fully delivered, one whose warehouse notice is a dead letter."""
    receiver["up"] = True
    notified.clear()
    handlers.add(WIDGET_ORDERED, log_order)
    handlers.add(WIDGET_ORDERED, notify_warehouse, retry=RetryPolicy(delays=()))
    with django_capture_on_commit_callbacks(execute=True):
        delivered = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 1})
    task_queue.run()
    receiver["up"] = False
    with django_capture_on_commit_callbacks(execute=True):
        dead = publish(WIDGET_ORDERED, {"order_id": 2, "customer_id": 1})
    task_queue.run()
    return delivered, dead


def test_a_client_gets_a_token_with_its_password(customer):
    response = APIClient().post(
        reverse("api-token"), {"username": customer.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    catalog = APIClient(HTTP_AUTHORIZATION=f"Token {response.json()['token']}").get(
        "/api/v1/event-types/"
    )
    assert catalog.status_code == 200


def test_wrong_credentials_get_a_400_naming_the_problem():
    response = APIClient().post(
        reverse("api-token"), {"username": "nobody", "password": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_only_operators_see_events(customer, staff, orders):
    assert APIClient().get("/api/v1/events/").status_code == 401
    assert api_client_for(customer).get("/api/v1/events/").status_code == 403
    assert api_client_for(staff).get("/api/v1/events/").status_code == 403, "no permission"


def test_events_filter_by_outcome_type_and_time(admin_user, orders):
    delivered, dead = orders
    client = api_client_for(admin_user)

    listed = client.get("/api/v1/events/").json()
    assert [e["id"] for e in listed["results"]] == [str(dead.id), str(delivered.id)]
    assert [e["outcome"] for e in listed["results"]] == ["dead", "succeeded"]

    def ids(**params):
        return [e["id"] for e in client.get("/api/v1/events/", params).json()["results"]]

    assert ids(outcome="dead") == [str(dead.id)]
    assert ids(outcome="succeeded") == [str(delivered.id)]
    assert ids(type="sample.widget.ordered.v1") == [str(dead.id), str(delivered.id)]
    assert ids(type="sample.*") == [str(dead.id), str(delivered.id)]
    assert ids(type="support.*") == []
    assert ids(since=timezone.now().isoformat()) == []
    assert client.get("/api/v1/events/", {"since": "yesterday"}).json() == {
        "since": ["Give an ISO 8601 date and time."]
    }
    assert client.get("/api/v1/events/", {"since": "2026-13-45T00:00:00"}).status_code == 400
    assert client.get("/api/v1/events/", {"outcome": "lost"}).status_code == 400
    # Out of range once in UTC, or unstorable (PostgreSQL refuses NUL): refused, not a 500.
    for params in (
        {"since": "0001-01-01T00:00:00+01:00"},
        {"since": "9999-12-31T23:59:59-01:00"},
        {"type": "sample.\x00"},
    ):
        assert list(client.get("/api/v1/events/", params).json()) == list(params), params


def test_an_event_shows_its_deliveries_and_a_dead_one_can_be_retried(
    admin_user, orders, task_queue, django_capture_on_commit_callbacks
):
    _, dead = orders
    client = api_client_for(admin_user)
    detail = client.get(f"/api/v1/events/{dead.id}/").json()
    assert detail["data"] == {"order_id": 2, "customer_id": 1, "note": ""}
    by_handler = {d["handler"].rsplit(".", 1)[1]: d for d in detail["deliveries"]}
    assert by_handler["log_order"]["status"] == "succeeded"
    failed = by_handler["notify_warehouse"]
    assert failed["status"] == "dead"
    assert failed["attempts"] == 1
    assert failed["last_error"] == "ConnectionError: warehouse unreachable"
    assert failed["duration_ms"] is not None

    receiver["up"] = True
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/deliveries/{failed['id']}/retry/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    task_queue.run()
    assert client.get(f"/api/v1/events/{dead.id}/").json()["outcome"] == "succeeded"

    again = client.post(f"/api/v1/deliveries/{failed['id']}/retry/")
    assert again.status_code == 409
    assert "succeeded" in again.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_retries_of_a_dead_letter_run_it_once(admin_user, orders, task_queue):
    _, dead = orders
    delivery = Delivery.objects.get(event=dead, status=Status.DEAD)
    receiver["up"] = True
    clients = [api_client_for(admin_user) for _ in range(10)]
    together = threading.Barrier(len(clients))

    def retry(client) -> int:
        together.wait()
        try:
            return client.post(f"/api/v1/deliveries/{delivery.pk}/retry/").status_code
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = sorted(pool.map(retry, clients))

    assert answers == [202] + [409] * 9
    task_queue.run()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)
    assert notified == [1, 2], "the warehouse heard of order 2 once"


def test_the_catalog_lists_types_with_schemas(customer):
    catalog = api_client_for(customer).get("/api/v1/event-types/").json()
    ordered = next(t for t in catalog if t["name"] == "sample.widget.ordered.v1")
    assert ordered["schema"]["properties"]["customer_id"]["type"] == "integer"


def test_the_openapi_schema_describes_the_api(client, customer):
    client.force_login(customer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/events/{id}/" in schema["paths"]
    assert "/api/v1/deliveries/{id}/retry/" in schema["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"//cdn" not in docs.content and b"https://" not in docs.content
