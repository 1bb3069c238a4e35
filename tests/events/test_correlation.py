"""Every event names the request that caused it and the event whose reaction published it."""

import logging

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_structured
from cloudevents.core.formats.json import JSONFormat

from eventplatform.events.delivery import execute
from eventplatform.events.models import Delivery, Event
from eventplatform.events.outbox import publish
from eventplatform.events.webhooks import post_event
from eventplatform.logging import ContextFilter
from tests.clients import api_client_for
from tests.events.sample import WIDGET_AUDITED, WIDGET_ORDERED

pytestmark = pytest.mark.django_db
SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVzIQ=="
audit_log = logging.getLogger("tests.events.audit")


def audit_order(event: Event) -> None:
    audit_log.info("auditing order %s", event.data.order_id)
    publish(WIDGET_AUDITED, {"order_id": event.data.order_id})


@pytest.fixture
def audited(handlers, task_queue, django_capture_on_commit_callbacks):
    """Orders whose reaction publishes an audit: ``audited(order_id)`` -> (order, audit)."""
    handlers.add(WIDGET_ORDERED, audit_order)

    def order_and_audit(order_id: int) -> tuple[Event, Event]:
        with django_capture_on_commit_callbacks(execute=True):
            order = publish(WIDGET_ORDERED, {"order_id": order_id, "customer_id": 1})
        task_queue.run()
        return order, Event.objects.get(type=WIDGET_AUDITED.name, payload__order_id=order_id)

    return order_and_audit


def test_an_event_records_the_request_that_caused_it(customer):
    response = api_client_for(customer).post(
        "/api/v1/tickets/", {"subject": "Hi", "body": "There"}, HTTP_X_REQUEST_ID="req-42"
    )

    assert response.status_code == 201
    created = Event.objects.get(type="support.ticket.created.v1")
    assert (created.correlation_id, created.causation_id) == ("req-42", None)


def test_a_request_without_an_id_gets_one_and_its_events_carry_it(customer):
    response = api_client_for(customer).post("/api/v1/tickets/", {"subject": "Hi", "body": "x"})

    assert response.status_code == 201
    created = Event.objects.get(type="support.ticket.created.v1")
    assert created.correlation_id == response["X-Request-ID"]


def test_a_reaction_publishes_into_the_chain_of_the_event_it_reacts_to(audited):
    order, audit = audited(order_id=7)

    assert audit.correlation_id == order.correlation_id
    assert audit.causation_id == order.id
    assert order.causation_id is None


def test_events_outside_any_request_or_delivery_start_chains_of_their_own(audited):
    first, _ = audited(order_id=1)
    after_a_delivery = publish(WIDGET_ORDERED, {"order_id": 2, "customer_id": 1})

    assert len(first.correlation_id) == 32
    assert after_a_delivery.correlation_id not in ("", first.correlation_id)
    assert after_a_delivery.causation_id is None


def test_the_workers_log_lines_carry_the_chains_request_id(audited, caplog):
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.INFO):
        order, _ = audited(order_id=3)

    audit_lines = [r for r in caplog.records if r.name == audit_log.name]
    assert [r.correlation_id for r in audit_lines] == [order.correlation_id]


def test_a_reaction_to_an_event_older_than_chains_starts_one(handlers):
    handlers.add(WIDGET_ORDERED, audit_order)
    order = publish(WIDGET_ORDERED, {"order_id": 5, "customer_id": 1})
    Event.objects.filter(pk=order.pk).update(correlation_id="")

    execute(Delivery.objects.get(event=order).pk)

    audit = Event.objects.get(type=WIDGET_AUDITED.name)
    assert len(audit.correlation_id) == 32
    assert audit.causation_id == order.id


def test_the_api_lists_one_chain_with_its_ids(audited, admin_user):
    order, _ = audited(order_id=8)
    audited(order_id=9)

    response = api_client_for(admin_user).get(
        "/api/v1/events/", {"correlation_id": order.correlation_id}
    )

    assert response.status_code == 200
    chain = [
        (e["type"], e["correlation_id"], e["causation_id"]) for e in response.json()["results"]
    ]
    assert chain == [
        (WIDGET_AUDITED.name, order.correlation_id, str(order.id)),
        (WIDGET_ORDERED.name, order.correlation_id, None),
    ]


@pytest.mark.parametrize("bad", ["two words", "a" * 65, "x=1"])
def test_the_api_refuses_a_correlation_id_no_request_could_have(admin_user, bad):
    response = api_client_for(admin_user).get("/api/v1/events/", {"correlation_id": bad})

    assert response.status_code == 400
    assert list(response.json()) == ["correlation_id"]


def test_webhooks_carry_the_chain_as_cloudevents_extensions(audited, http_receiver):
    order, audit = audited(order_id=4)
    post_event(http_receiver.url, order, secret=SECRET)
    post_event(http_receiver.url, audit, secret=SECRET)

    first, caused = (
        from_structured(HTTPMessage(headers=r.headers, body=r.body), JSONFormat())
        for r in http_receiver.requests
    )
    assert first.get_extension("correlationid") == order.correlation_id
    assert "causationid" not in first.get_attributes()
    assert caused.get_extension("correlationid") == order.correlation_id
    assert caused.get_extension("causationid") == str(order.id)
