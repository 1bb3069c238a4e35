"""An operator's change to the rules, the SLA targets or the webhook subscriptions reaches the
next ticket's reactions, in a worker that read them for an earlier ticket: workers keep what
they read of these settings only while nothing changed them (``events/settings_cache.py``).
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eventplatform.events.models import Delivery, SettingsVersion, WebhookSubscription
from support.models import PrioritisationRule, Priority, SlaTarget

pytestmark = pytest.mark.django_db
SETTINGS_TABLES = [
    PrioritisationRule._meta.db_table,
    SlaTarget._meta.db_table,
    WebhookSubscription._meta.db_table,
]


@pytest.fixture
def open_ticket(customer, submit, settle, smtp_server):
    """Submit a ticket, run every reaction it sets off, and return it with the customer's
    acknowledgement."""

    def open_ticket(subject: str):
        ticket = submit(customer, subject=subject)
        settle()
        ticket.refresh_from_db()
        return ticket, smtp_server.messages[-1].get_body(("plain",)).get_content()

    return open_ticket


def test_a_rule_switched_off_or_deleted_no_longer_prioritises_the_next_ticket(
    outage_rule, open_ticket
):
    first, acknowledgement = open_ticket("Checkout outage")
    assert first.priority == Priority.URGENT and "within 1 hour" in acknowledgement

    outage_rule.enabled = False
    outage_rule.save()
    second, acknowledgement = open_ticket("Another outage")
    assert (second.priority, second.priority_reason) == (Priority.NORMAL, "no rule matched")
    assert "within 1 day" in acknowledgement

    outage_rule.enabled = True
    outage_rule.save()
    assert open_ticket("A third outage")[0].priority == Priority.URGENT
    outage_rule.delete()
    assert open_ticket("The last outage")[0].priority == Priority.NORMAL


def test_a_new_sla_target_sets_the_next_tickets_due_time(outage_rule, open_ticket):
    first, _ = open_ticket("Checkout outage")
    assert first.sla_due_at - first.created_at == SlaTarget.first_response_for(Priority.URGENT)

    target = SlaTarget.objects.get(priority=Priority.URGENT)
    target.first_response_hours = 2
    target.save()
    second, acknowledgement = open_ticket("Another outage")
    assert (second.sla_due_at - second.created_at).total_seconds() == 2 * 3600
    assert "within 2 hours" in acknowledgement


def test_a_webhook_subscription_gets_the_next_events_until_it_is_switched_off(
    open_ticket, http_receiver, settings
):
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    prioritised = "support.ticket.prioritized.v1"  # published by a worker, the prioritisation
    open_ticket("Before the subscription")

    subscription = WebhookSubscription.objects.create(
        name="Analytics", event_types=prioritised, url=http_receiver.url
    )
    ticket, _ = open_ticket("After it")
    sent = Delivery.objects.get(handler=subscription.handler_name)
    assert (sent.event.type, sent.event.payload["ticket_id"], sent.status) == (
        prioritised,
        ticket.pk,
        Delivery.Status.SUCCEEDED,
    )

    http_receiver.status = 410  # the endpoint is gone: the worker switches it off
    open_ticket("While it goes away")
    subscription.refresh_from_db()
    assert not subscription.active
    open_ticket("After it went away")
    assert Delivery.objects.filter(handler=subscription.handler_name).count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the claim reads the settings' version on PostgreSQL"
)
def test_a_worker_reads_the_settings_once_while_nobody_changes_them(
    outage_rule, open_ticket, customer, submit, settle
):
    open_ticket("Checkout outage")
    ticket = submit(customer, subject="Another outage")
    with CaptureQueriesContext(connection) as reactions:
        settle()
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert not [q["sql"] for q in reactions if any(t in q["sql"] for t in SETTINGS_TABLES)]


def test_every_migrate_gives_the_settings_a_new_version():
    """A data migration writes through historical models, which send no signal."""
    before = SettingsVersion.objects.get().token
    call_command("migrate", verbosity=0)
    assert SettingsVersion.objects.get().token != before
