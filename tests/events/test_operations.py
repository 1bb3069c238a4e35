"""What operators and load balancers see: probes and the admin."""

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse

from eventplatform.events.models import Delivery, Event
from eventplatform.events.outbox import publish
from eventplatform.events.subscriptions import RetryPolicy
from tests.events.sample import WIDGET_ORDERED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_serves(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_tells_anyone_only_whether_the_platform_is_ready(client):
    response = client.get("/readyz")
    # No worker cluster nor scheduler runs for this test.
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


@override_settings(METRICS_TOKEN="scrape-me")
def test_readyz_says_what_is_missing_to_operators(client, admin_client):
    response = client.get("/readyz", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert admin_client.get("/readyz").json() == response.json()
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "ok"
    # No worker cluster nor scheduler runs for this test.
    assert response.status_code == 503
    assert body["checks"]["workers"] == "error: none taking work"
    assert body["checks"]["scheduler"] == "error: none running"


def refuse(event):
    raise ValueError("the receiver refused the order")


def test_an_operator_finds_a_dead_letter_reads_its_traceback_and_retries_it(
    admin_client, handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, refuse, retry=RetryPolicy(delays=()))
    with django_capture_on_commit_callbacks(execute=True):
        event = publish(WIDGET_ORDERED, {"order_id": 3, "customer_id": 1})
    task_queue.run()
    delivery = Delivery.objects.get(event=event)

    listing = admin_client.get(reverse("admin:events_delivery_changelist"), {"status": "dead"})
    assert b"Dead letter" in listing.content
    page = admin_client.get(reverse("admin:events_delivery_change", args=[delivery.pk]))
    assert b"the receiver refused the order" in page.content
    assert b"Traceback (most recent call last)" in page.content
    event_page = admin_client.get(reverse("admin:events_event_change", args=[event.pk]))
    assert b"test_operations.refuse" in event_page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:events_delivery_changelist"),
            {"action": "retry_selected", "_selected_action": [delivery.pk]},
            follow=True,
        )
    assert b"1 deliveries queued for another attempt." in response.content
    assert [t["args"] for t in task_queue.tasks()] == [(delivery.pk,)]


def test_metrics_are_for_the_bearer_of_their_token_and_operators(client, admin_client, staff):
    with override_settings(METRICS_TOKEN="scrape-me"):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-m").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401, "no token set"
    client.force_login(staff)
    assert client.get("/metrics").status_code == 401, "staff without permission"
    assert admin_client.get("/metrics").status_code == 200


def test_metrics_count_deliveries_by_handler_and_status(
    admin_client, handlers, task_queue, django_capture_on_commit_callbacks
):
    client = admin_client
    handlers.add(WIDGET_ORDERED, refuse, retry=RetryPolicy(delays=()))
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 3, "customer_id": 1})
        publish(WIDGET_ORDERED, {"order_id": 4, "customer_id": 1})
    queued = client.get("/metrics").content.decode()
    assert "eventplatform_queue_depth 2.0" in queued
    task_queue.run()

    text = client.get("/metrics").content.decode()
    assert (
        'eventplatform_deliveries{handler="tests.events.test_operations.refuse",status="dead"} 2.0'
        in text
    )
    assert 'eventplatform_events{type="sample.widget.ordered.v1"} 2.0' in text
    assert "eventplatform_queue_depth 0.0" in text


def test_log_lines_name_the_request_and_the_event(customer, caplog):
    """A ticket submitted through the API: its "published" line names the request and event."""
    import logging

    from eventplatform.logging import ContextFilter
    from tests.clients import api_client_for

    caplog.handler.addFilter(ContextFilter())
    client = api_client_for(customer)
    with caplog.at_level(logging.INFO, logger="eventplatform.events.outbox"):
        response = client.post(
            "/api/v1/tickets/", {"subject": "Hi", "body": "There"}, HTTP_X_REQUEST_ID="req-42"
        )
    assert response["X-Request-ID"] == "req-42"
    published = next(r for r in caplog.records if r.getMessage().startswith("published"))
    assert published.correlation_id == "req-42"
    assert published.event_id == str(Event.objects.get(type="support.ticket.created.v1").id)
    assert client.get("/healthz")["X-Request-ID"] not in ("req-42", ""), "a fresh id otherwise"


@pytest.mark.parametrize(
    "forged", ["x event=1 level=CRITICAL", "x\tlevel=CRITICAL", "a" * 65, "caf\u00e9"]
)
def test_a_request_id_that_could_forge_log_fields_is_replaced(client, forged):
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=forged)["X-Request-ID"]
    assert answered != forged
    assert len(answered) == 32 and answered.isalnum()


def test_the_health_page_shows_each_handlers_outcomes_to_operators_only(
    client, admin_client, customer, staff, handlers, task_queue, django_capture_on_commit_callbacks
):
    handlers.add(WIDGET_ORDERED, refuse, retry=RetryPolicy(delays=()))
    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 3, "customer_id": 1})
    task_queue.run()

    page = admin_client.get("/events/health/")
    assert page.status_code == 200
    row = next(r for r in page.context["handlers"] if r["handler"].endswith(".refuse"))
    assert (row["dead"], row["succeeded"], row["success_rate"]) == (1, 0, 0)
    assert page.context["dead_letters"] == 1
    assert b"test_operations.refuse" in page.content
    client.force_login(customer)
    assert client.get("/events/health/").status_code == 302  # to the login page
    client.force_login(staff)
    assert client.get("/events/health/").status_code == 403, "staff without view_delivery"


def test_browsers_asking_for_favicon_ico_get_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_the_health_page_names_the_reactions_that_are_not_configured(admin_client, settings):
    settings.SLACK_WEBHOOK_URL = ""
    page = admin_client.get("/events/health/")

    assert {"support.slack-new-ticket", "support.slack-sla-breach"} <= set(
        page.context["not_configured"]
    )
    assert b"Not configured, so they get no deliveries" in page.content


def test_an_operator_who_may_change_deliveries_may_read_the_health_page(client):
    operator = UserFactory(username="retrier", is_staff=True)
    operator.user_permissions.add(
        Permission.objects.get(content_type__app_label="events", codename="change_delivery")
    )
    client.force_login(operator)
    assert client.get("/events/health/").status_code == 200, "as the admin: change includes view"
