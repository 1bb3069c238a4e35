"""Held email waits in the admin for an agent: listed first, then made a ticket or ignored."""

from email.message import EmailMessage

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from support import inbound, services
from support.models import InboundMail, Ticket

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:support_inboundmail_changelist")


@pytest.fixture(autouse=True)
def support_address(settings, tmp_path):
    settings.SUPPORT_EMAIL_ADDRESS = "support@support.example.com"
    settings.MEDIA_ROOT = tmp_path
    settings.SUPPORT_EMAIL_UNKNOWN_SENDERS = "hold"


def arrive(sender: str, subject: str) -> InboundMail:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "support@support.example.com", subject
    mail["Message-ID"] = f"<{subject.replace(' ', '-')}@mail.example.org>"
    mail.set_content("Hello, I need help with my order.")
    record, _ = inbound.mail_store(mail.as_bytes(), transport="smtp")
    return inbound.mail_process(mail_id=record.pk)


def run_action(client, action: str, mail: InboundMail):
    return client.post(
        CHANGELIST, {"action": action, helpers.ACTION_CHECKBOX_NAME: [mail.pk]}, follow=True
    )


def test_held_email_is_listed_before_the_rest(admin_client, customer):
    held = arrive("stranger@elsewhere.example", "Held one")
    arrive(customer.email, "Processed later")

    page = admin_client.get(CHANGELIST).content.decode()

    assert held.status == InboundMail.Status.HELD
    assert page.index("Held one") < page.index("Processed later")


def test_reviewing_held_email_opens_its_ticket_through_the_same_processing(admin_client):
    held = arrive("stranger@elsewhere.example", "Order 1234 missing")

    run_action(admin_client, "process_after_review", held)

    held.refresh_from_db()
    assert held.status == InboundMail.Status.PROCESSED
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.customer.email, ticket.channel) == (
        "Order 1234 missing",
        "stranger@elsewhere.example",
        "email",
    )


def test_ignoring_held_email_leaves_no_ticket(admin_client):
    held = arrive("stranger@elsewhere.example", "Buy cheap watches")

    run_action(admin_client, "ignore", held)

    held.refresh_from_db()
    assert held.status == InboundMail.Status.IGNORED
    assert "ignored after review" in held.reason
    assert not Ticket.objects.exists()


def test_the_record_shows_what_the_email_says_as_text(admin_client):
    held = arrive("stranger@elsewhere.example", "Question")

    page = admin_client.get(reverse("admin:support_inboundmail_change", args=[held.pk]))

    assert "Hello, I need help with my order." in page.content.decode()
    assert admin_client.get(reverse("admin:support_inboundmail_add")).status_code == 403


def test_a_review_that_fails_reports_it_and_the_other_emails_are_still_processed(
    admin_client, monkeypatch
):
    failing = arrive("first@elsewhere.example", "Fails")
    fine = arrive("second@elsewhere.example", "Works")
    create = services.ticket_create

    def fail_for_the_first(*, customer, **kwargs):
        if customer.email == "first@elsewhere.example":
            raise ConnectionError("connection reset")
        return create(customer=customer, **kwargs)

    monkeypatch.setattr(services, "ticket_create", fail_for_the_first)
    response = admin_client.post(
        CHANGELIST,
        {"action": "process_after_review", helpers.ACTION_CHECKBOX_NAME: [failing.pk, fine.pk]},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("could not be processed (ConnectionError: connection reset)" in m for m in shown)
    failing.refresh_from_db()
    fine.refresh_from_db()
    assert failing.status == InboundMail.Status.HELD
    assert fine.status == InboundMail.Status.PROCESSED
    assert Ticket.objects.get().customer.email == "second@elsewhere.example"


def test_the_list_of_email_does_not_load_each_message_whole(admin_client):
    arrive("stranger@elsewhere.example", "Large one")

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(CHANGELIST)

    assert "Large one" in page.content.decode()
    listed = [q["sql"] for q in queries if 'FROM "support_inboundmail"' in q["sql"]]
    assert listed and not any('"support_inboundmail"."raw"' in sql for sql in listed)
