"""A new ticket sets off its reactions, each against a real receiver and each on its own."""

import json
from datetime import timedelta

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_structured
from cloudevents.core.formats.json import JSONFormat
from django.utils import timezone
from standardwebhooks import Webhook

from eventplatform.events.models import Delivery
from eventplatform.events.reconciler import reconcile
from support import services
from support.models import Priority
from tests.support.deliveries import CRM_SECRET, delivery

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def retry_due_deliveries(task_queue) -> None:
    Delivery.objects.filter(status=Status.FAILED).update(next_attempt_at=timezone.now())
    reconcile()
    task_queue.run()


def test_the_customer_is_acknowledged_by_email_with_reference_expectation_and_link(
    reactions_configured, outage_rule, customer, submit, task_queue
):
    ticket = submit(customer, subject="Checkout outage", body="Payments fail with a 500.")
    task_queue.run()

    (mail,) = reactions_configured["smtp"].messages
    assert mail["To"] == customer.email
    assert ticket.reference in mail["Subject"] and "Checkout outage" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    link = f"https://support.example.com/tickets/{ticket.pk}/"
    for part in (text, html):
        assert ticket.reference in part
        assert "Checkout outage" in part
        assert "within 1 hour" in part.replace("<strong>", "").replace("</strong>", "")
        assert link in part
    assert mail["Message-ID"].endswith("@support.example.com>")


def test_the_ticket_is_prioritised_by_the_rules_with_its_sla_due_time(
    reactions_configured, outage_rule, customer, submit, task_queue
):
    ticket = submit(customer, subject="Checkout outage")
    task_queue.run()

    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert ticket.priority_reason == "rule: Outages"
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=1)
    assert delivery(ticket, "support.prioritisation").status == Status.SUCCEEDED


def test_agents_are_told_on_slack_with_blocks_and_a_link(
    reactions_configured, outage_rule, customer, submit, task_queue
):
    customer.first_name, customer.last_name = "Casey", "<Jones>"
    customer.save()
    ticket = submit(customer, subject="Checkout outage & more")
    task_queue.run()

    (request,) = reactions_configured["slack"].requests
    message = request.json()
    assert ticket.reference in message["text"] and "urgent" in message["text"]
    header, section, actions = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"New ticket {ticket.reference}"},
    }
    link = f"https://support.example.com/agent/tickets/{ticket.pk}/"
    assert section["text"]["text"] == (f"*<{link}|{ticket.reference}: Checkout outage &amp; more>*")
    fields = [f["text"] for f in section["fields"]]
    assert fields[0].endswith("Urgent")
    assert fields[1] == "*Customer*\nCasey &lt;Jones&gt;"
    assert actions["elements"][0]["url"] == link


def test_slack_shows_a_subject_as_text_never_as_a_mention_or_a_link(
    reactions_configured, customer, submit, task_queue
):
    ticket = submit(
        customer, subject="<!channel> <https://evil.example/login|Reset your SSO password> & co"
    )
    task_queue.run()

    (request,) = reactions_configured["slack"].requests
    message = request.json()
    escaped = "&lt;!channel&gt; &lt;https://evil.example/login|Reset your SSO password&gt; &amp; co"
    assert message["text"].endswith(f"{ticket.reference} from {customer.first_name}: {escaped}")
    assert f"{ticket.reference}: {escaped}>*" in message["blocks"][1]["text"]["text"]


def test_the_crm_receives_a_signed_cloudevent(reactions_configured, customer, submit, task_queue):
    ticket = submit(customer, subject="Invoice question")
    task_queue.run()

    (request,) = reactions_configured["crm"].requests
    Webhook(CRM_SECRET).verify(request.body, request.headers)
    received = from_structured(
        HTTPMessage(headers=request.headers, body=request.body), JSONFormat()
    )
    assert received.get_type() == "support.ticket.created.v1"
    assert received.get_data()["ticket_id"] == ticket.pk
    assert received.get_data()["subject"] == "Invoice question"
    assert received.get_data()["reference"] == ticket.reference
    assert delivery(ticket, "support.crm-update").status == Status.SUCCEEDED


def test_slack_failing_holds_back_nothing_and_is_retried_until_it_recovers(
    reactions_configured, customer, submit, task_queue
):
    slack = reactions_configured["slack"]
    slack.status = 500
    ticket = submit(customer)
    task_queue.run()

    assert len(reactions_configured["smtp"].messages) == 1
    assert len(reactions_configured["crm"].requests) == 1
    assert delivery(ticket, "support.acknowledgement-email").status == Status.SUCCEEDED
    assert delivery(ticket, "support.crm-update").status == Status.SUCCEEDED
    failed = delivery(ticket, "support.slack-new-ticket")
    assert failed.status == Status.FAILED
    assert "HTTP 500" in failed.last_error
    assert slack.url not in failed.last_error, "the webhook URL is a secret"
    assert failed.next_attempt_at > timezone.now()

    retry_due_deliveries(task_queue)  # still down: another failed attempt
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.FAILED, 2)

    slack.status = 200
    retry_due_deliveries(task_queue)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.SUCCEEDED, 3)
    assert len(slack.requests) == 3
    assert len(reactions_configured["smtp"].messages) == 1, "the email went out once"
    assert len(reactions_configured["crm"].requests) == 1


def test_slack_refusing_the_message_is_a_dead_letter_not_a_retry(
    reactions_configured, customer, submit, task_queue
):
    reactions_configured["slack"].status = 404
    ticket = submit(customer)
    task_queue.run()
    dead = delivery(ticket, "support.slack-new-ticket")
    assert (dead.status, dead.attempts) == (Status.DEAD, 1)


def test_unconfigured_slack_and_crm_get_no_delivery_at_all(
    settings, smtp_server, customer, submit, task_queue
):
    settings.SLACK_WEBHOOK_URL = settings.CRM_WEBHOOK_URL = ""
    ticket = submit(customer)
    queued = len(task_queue)
    task_queue.run()

    handlers = Delivery.objects.filter(
        event__type="support.ticket.created.v1", event__payload__ticket_id=ticket.pk
    )
    assert sorted(handlers.values_list("handler", flat=True)) == [
        "support.acknowledgement-email",
        "support.prioritisation",
    ]
    assert queued == 2, "no task either"
    assert len(smtp_server.messages) == 1


def test_a_target_unset_after_the_event_was_published_is_skipped(
    reactions_configured, settings, customer, submit, task_queue
):
    ticket = submit(customer)
    settings.CRM_WEBHOOK_URL = ""
    task_queue.run()

    crm = delivery(ticket, "support.crm-update")
    assert (crm.status, crm.last_error) == (
        Status.SKIPPED,
        "CRM_WEBHOOK_URL or CRM_WEBHOOK_SECRET is not set",
    )


def test_an_agents_reply_is_emailed_to_the_customer_and_a_note_is_not(
    reactions_configured, customer, agent, submit, task_queue, django_capture_on_commit_callbacks
):
    ticket = submit(customer)
    task_queue.run()
    smtp = reactions_configured["smtp"]
    smtp.messages.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.message_post(
            ticket=ticket, author=agent, body="Customer seems upset", internal=True
        )
        services.message_post(ticket=ticket, author=agent, body="We restarted the service.")
        services.message_post(ticket=ticket, author=customer, body="Thanks, it works!")
    task_queue.run()

    (mail,) = smtp.messages
    assert mail["To"] == customer.email
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "We restarted the service." in text
    assert "upset" not in text
    assert f"https://support.example.com/tickets/{ticket.pk}/" in text


def test_a_ticket_saved_in_the_admin_or_shell_reacts_too(
    reactions_configured, customer, task_queue, django_capture_on_commit_callbacks
):
    from support.models import Ticket

    with django_capture_on_commit_callbacks(execute=True):
        ticket = Ticket.objects.create(customer=customer, subject="Phoned in", body="By phone")
    task_queue.run()
    assert len(reactions_configured["smtp"].messages) == 1
    assert json.loads(reactions_configured["crm"].requests[0].body)["data"]["ticket_id"] == (
        ticket.pk
    )
