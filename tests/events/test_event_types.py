"""The event types API: each type with its schema, the handlers that react to it and who sees
it on the stream, as docs/events.md shows them."""

import pytest

from eventplatform.events.health import HEALTH_CHANGED
from tests.clients import api_client_for

pytestmark = pytest.mark.django_db


def catalog_of(user) -> dict[str, dict]:
    response = api_client_for(user).get("/api/v1/event-types/")
    assert response.status_code == 200
    return {event_type["name"]: event_type for event_type in response.json()}


def test_each_type_names_its_handlers_and_audience(customer):
    catalog = catalog_of(customer)

    created = catalog["support.ticket.created.v1"]
    assert created["audience"] == ["agents", "user.<customer_id>"]
    assert created["handlers"] == [
        "support.acknowledgement-email",
        "support.crm-update",
        "support.prioritisation",
        "support.slack-new-ticket",
    ]
    assert catalog["support.ticket.note_added.v1"]["audience"] == ["agents"]
    health = catalog[HEALTH_CHANGED.name]
    assert (health["audience"], health["handlers"]) == (["operators"], [])


def test_a_handler_whose_target_is_not_configured_is_named_as_such(customer, settings):
    settings.SLACK_WEBHOOK_URL = ""
    settings.CRM_WEBHOOK_URL = "https://crm.example/hooks"
    settings.CRM_WEBHOOK_SECRET = "whsec_" + "A" * 44

    created = catalog_of(customer)["support.ticket.created.v1"]

    assert created["not_configured"] == ["support.slack-new-ticket"]
