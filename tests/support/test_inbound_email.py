"""Mail in becomes tickets and replies: over SMTP to the receiver, and through a provider's
webhook, with the same reactions as a ticket from the web, and nothing for automatic mail."""

import base64
import json
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from eventplatform.events.models import Delivery, Event
from eventplatform.events.reconciler import reconcile
from support import inbound, services
from support.mail_receiver import mail_receiver
from support.models import Channel, InboundMail, Message, Priority, Status, Ticket
from support.reply_addresses import reply_address
from tests.factories import UserFactory
from tests.receivers import free_port

SUPPORT = "support@support.example.com"
MailStatus = InboundMail.Status


@pytest.fixture
def inbound_settings(settings, tmp_path):
    settings.SUPPORT_EMAIL_ADDRESS = SUPPORT
    settings.SITE_URL = "https://support.example.com"
    settings.MEDIA_ROOT = tmp_path
    settings.SUPPORT_EMAIL_UNKNOWN_SENDERS = "hold"
    return settings


@pytest.fixture
def receiver(inbound_settings):
    """The platform's own SMTP receiver, as ``run_mail_receiver`` starts it."""
    port = free_port()
    controller = mail_receiver(host="127.0.0.1", port=port, max_bytes=1024 * 1024)
    controller.start()
    yield port
    controller.stop()


def compose(
    *,
    sender: str,
    to: str = SUPPORT,
    subject: str = "The dashboard is down",
    text: str | None = "Since 9:00 nothing loads.",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = message_id or make_msgid(domain="customer.example.org")
    for name, value in (headers or {}).items():
        mail[name] = value
    if text is not None:
        mail.set_content(text)
    if html is not None:
        if text is None:
            mail.set_content(html, subtype="html")
        else:
            mail.add_alternative(html, subtype="html")
    return mail


def send_over_smtp(port: int, mail: EmailMessage, *, mail_from: str | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(mail, from_addr=mail_from)


def deliveries_of(event_type: str) -> list[Delivery]:
    return list(Delivery.objects.filter(event__type=event_type))


# --- over SMTP, end to end ---------------------------------------------------------------------

smtp_db = pytest.mark.django_db(transaction=True)  # the receiver stores from its own thread


@smtp_db
def test_mail_from_a_known_customer_becomes_a_ticket_with_every_reaction(
    receiver, reactions_configured, outage_rule, customer, task_queue
):
    send_over_smtp(
        receiver,
        compose(sender=f"Casey <{customer.email.upper()}>", subject="Checkout outage"),
    )
    task_queue.run()

    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.channel) == (customer, Channel.EMAIL)
    assert (ticket.subject, ticket.body) == ("Checkout outage", "Since 9:00 nothing loads.")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=1)
    assert Schedule.objects.filter(name=services.sla_schedule_name(ticket.pk)).exists()
    assert len(reactions_configured["slack"].requests) == 1
    assert len(reactions_configured["crm"].requests) == 1
    assert all(d.status == Delivery.Status.SUCCEEDED for d in Delivery.objects.all())

    (ack,) = reactions_configured["smtp"].messages
    assert ack["To"] == customer.email
    assert ack["Reply-To"] == reply_address(ticket.pk)
    assert ack["Reply-To"].startswith(f"support+{ticket.reference}.")
    assert ack["Auto-Submitted"] == "auto-replied"
    mail = InboundMail.objects.get()
    assert (mail.status, mail.ticket, mail.transport) == (MailStatus.PROCESSED, ticket, "smtp")
    assert ack["In-Reply-To"] == ack["References"] == mail.message_id, "in the customer's thread"


@smtp_db
def test_a_reply_to_the_acknowledgement_threads_onto_the_ticket_and_the_answer_threads_back(
    receiver, reactions_configured, customer, agent, task_queue
):
    send_over_smtp(receiver, compose(sender=customer.email))
    task_queue.run()
    ticket = Ticket.objects.get()
    (ack,) = reactions_configured["smtp"].messages

    reply = compose(
        sender=customer.email,
        to=ack["Reply-To"],
        subject=f"Re: {ack['Subject']}",
        text="It works again after the restart.\n\n--\nCasey\n\n"
        "On Mon, 3 Nov 2025 at 10:00, Support <noreply@localhost> wrote:\n"
        "> We received your request.\n",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    send_over_smtp(receiver, reply)
    task_queue.run()

    (message,) = Message.objects.filter(ticket=ticket)
    assert (message.author, message.from_agent, message.channel) == (customer, False, "email")
    assert message.body == "It works again after the restart."
    (posted,) = Event.objects.filter(type="support.ticket.message_posted.v1")
    assert posted.payload["message_id"] == message.pk

    with transaction.atomic():
        services.message_post(ticket=ticket, author=agent, body="Glad to hear it.")
    task_queue.run()
    answer = reactions_configured["smtp"].messages[-1]
    assert answer["In-Reply-To"] == reply["Message-ID"]
    assert answer["References"] == reply["Message-ID"]
    assert answer["Reply-To"] == ack["Reply-To"]
    assert "Auto-Submitted" not in answer, "an agent's answer is no automatic response"


@smtp_db
def test_the_same_message_id_twice_is_accepted_twice_and_processed_once(
    receiver, smtp_server, customer, task_queue
):
    mail = compose(sender=customer.email)
    send_over_smtp(receiver, mail)
    send_over_smtp(receiver, mail)  # the sender's server retried: it gets its 250 again
    task_queue.run()

    assert InboundMail.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert len(smtp_server.messages) == 1
    assert len(deliveries_of("support.email.received.v1")) == 1


@smtp_db
@pytest.mark.parametrize(
    "headers, reason",
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"X-Autoreply": "yes"}, "X-Autoreply"),
        ({"List-Id": "<news.shop.example>"}, "List-Id"),
    ],
)
def test_an_automatic_reply_creates_nothing_and_sends_nothing(
    receiver, smtp_server, customer, task_queue, headers, reason
):
    send_over_smtp(
        receiver, compose(sender=customer.email, subject="Out of office", headers=headers)
    )
    task_queue.run()

    mail = InboundMail.objects.get()
    assert mail.status == MailStatus.IGNORED and reason in mail.reason
    assert not Ticket.objects.exists()
    assert smtp_server.messages == []


@smtp_db
def test_a_bounce_creates_nothing_and_sends_nothing(receiver, smtp_server, customer, task_queue):
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.customer.example.org>"
    bounce["To"] = SUPPORT
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce.set_content("The mail could not be delivered.")
    bounce.add_attachment(
        b"Reporting-MTA: dns; mx.customer.example.org\r\n", maintype="message", subtype="x-dsn"
    )
    bounce.replace_header("Content-Type", "multipart/report; report-type=delivery-status")
    send_over_smtp(receiver, bounce, mail_from="")  # the null sender: <>
    task_queue.run()

    mail = InboundMail.objects.get()
    assert mail.status == MailStatus.IGNORED
    assert "multipart/report" in mail.reason
    assert not Ticket.objects.exists()
    assert smtp_server.messages == []


@smtp_db
def test_someone_else_replying_with_the_reply_address_is_held_not_attached(
    receiver, smtp_server, customer, task_queue
):
    send_over_smtp(receiver, compose(sender=customer.email))
    task_queue.run()
    ticket = Ticket.objects.get()
    intruder = UserFactory(username="mallory")

    send_over_smtp(
        receiver,
        compose(
            sender=intruder.email,
            to=reply_address(ticket.pk),
            subject=f"Re: [{ticket.reference}] please close",
            text="Please close this ticket and send the invoice to me.",
        ),
    )
    task_queue.run()

    assert not Message.objects.filter(ticket=ticket).exists()
    held = InboundMail.objects.get(from_address=intruder.email)
    assert held.status == MailStatus.HELD
    assert "not the ticket's customer" in held.reason
    assert len(smtp_server.messages) == 1, "the acknowledgement of the ticket, nothing more"


@smtp_db
def test_the_receiver_answers_a_temporary_failure_when_it_cannot_store(
    receiver, customer, monkeypatch
):
    def database_down(*args, **kwargs):
        raise ConnectionError("database unreachable")

    monkeypatch.setattr("support.mail_receiver.mail_store", database_down)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send_over_smtp(receiver, compose(sender=customer.email))

    assert refused.value.smtp_code == 451, "the sender's server keeps the mail and retries"
    assert not InboundMail.objects.exists()


@smtp_db
def test_the_receiver_speaks_lmtp_for_postfix(inbound_settings, customer, task_queue):
    port = free_port()
    controller = mail_receiver(host="127.0.0.1", port=port, lmtp=True, max_bytes=1024 * 1024)
    controller.start()
    try:
        with smtplib.LMTP("127.0.0.1", port) as client:
            refused = client.send_message(compose(sender=customer.email))
    finally:
        controller.stop()
    task_queue.run()

    assert refused == {}
    mail = InboundMail.objects.get()
    assert (mail.transport, mail.status) == ("lmtp", MailStatus.PROCESSED)
    assert Ticket.objects.get().channel == Channel.EMAIL


# --- through an email provider's webhook -------------------------------------------------------

WEBHOOK_AUTH = "postmark-user:webhook-password"


def postmark_inbound(*, sender: str, message_id: str, attachments: list[dict] = ()) -> dict:
    """An inbound webhook body as Postmark posts it (without the raw email option)."""
    return {
        "FromName": "Casey",
        "From": sender,
        "FromFull": {"Email": sender, "Name": "Casey", "MailboxHash": ""},
        "To": SUPPORT,
        "ToFull": [{"Email": SUPPORT, "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "BccFull": [],
        "OriginalRecipient": SUPPORT,
        "Subject": "Invoice is wrong",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Thu, 5 Apr 2012 16:59:01 +0200",
        "MailboxHash": "",
        "TextBody": "The invoice for March charges us twice.",
        "HtmlBody": "<p>The invoice for March charges us <b>twice</b>.</p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": f"<{sender}>"},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "Message-ID", "Value": message_id},
        ],
        "Attachments": list(attachments),
    }


def post_webhook(client, payload: dict, *, auth: str = WEBHOOK_AUTH):
    return client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth.encode()).decode(),
    )


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_AUTH}


@pytest.mark.django_db
def test_a_provider_webhook_opens_a_ticket_like_mail_over_smtp(
    client,
    inbound_settings,
    webhook_secret,
    reactions_configured,
    customer,
    settle,
    django_capture_on_commit_callbacks,
):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    payload = postmark_inbound(
        sender=customer.email,
        message_id="<a1b2@customer.example.org>",
        attachments=[
            {
                "Name": "invoice.png",
                "Content": base64.b64encode(png).decode(),
                "ContentType": "image/png",
                "ContentLength": len(png),
            }
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):  # the webhook's commit
        response = post_webhook(client, payload)
    assert response.status_code == 200
    settle()
    assert post_webhook(client, payload).status_code == 200, "a retry of the provider's"

    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.channel, ticket.subject) == (
        customer,
        Channel.EMAIL,
        "Invoice is wrong",
    )
    assert ticket.body == "The invoice for March charges us twice."
    (attachment,) = [a for m in ticket.messages.all() for a in m.attachments.all()]
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "invoice.png",
        "image/png",
        len(png),
    )
    assert attachment.file.read() == png
    mail = InboundMail.objects.get()
    assert (mail.transport, mail.status, mail.message_id) == (
        "postmark",
        MailStatus.PROCESSED,
        "<a1b2@customer.example.org>",
    )
    (ack,) = reactions_configured["smtp"].messages
    assert ack["To"] == customer.email


@pytest.mark.django_db
def test_a_webhook_without_the_providers_credentials_stores_nothing(
    client, inbound_settings, webhook_secret, customer
):
    payload = postmark_inbound(sender=customer.email, message_id="<forged@example.org>")
    response = post_webhook(client, payload, auth="postmark-user:guess")

    assert response.status_code == 400
    assert not InboundMail.objects.exists()


def png_attachment(size: int) -> dict:
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256)
    return {
        "Name": "screenshot.png",
        "Content": base64.b64encode(content).decode(),
        "ContentType": "image/png",
        "ContentLength": len(content),
    }


@pytest.mark.django_db
def test_a_provider_webhook_takes_a_mail_larger_than_djangos_upload_cap(
    client, inbound_settings, webhook_secret, customer
):
    # Postmark posts a 3 MB screenshot as 4 MB of base64 inside the JSON body.
    payload = postmark_inbound(
        sender=customer.email,
        message_id="<big@customer.example.org>",
        attachments=[png_attachment(3 * 1024 * 1024)],
    )

    assert post_webhook(client, payload).status_code == 200

    mail = inbound.mail_process(mail_id=InboundMail.objects.get().pk)
    (attachment,) = mail.ticket_message.attachments.all()
    assert attachment.size == 3 * 1024 * 1024 + 8


@pytest.mark.django_db
def test_a_provider_webhook_refuses_mail_larger_than_the_receivers_limit(
    client, inbound_settings, webhook_secret, customer
):
    inbound_settings.MAIL_RECEIVER_MAX_BYTES = 100 * 1024
    payload = postmark_inbound(
        sender=customer.email,
        message_id="<huge@customer.example.org>",
        attachments=[png_attachment(200 * 1024)],
    )

    assert post_webhook(client, payload).status_code == 413
    assert not InboundMail.objects.exists()


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_a_provider_webhook_without_credentials_is_not_enabled_in_production(
    client, inbound_settings, customer
):
    inbound_settings.DEBUG = False
    inbound_settings.ANYMAIL = {}
    payload = postmark_inbound(sender=customer.email, message_id="<open@example.org>")

    assert post_webhook(client, payload).status_code == 404
    assert not InboundMail.objects.exists()

    # A provider that signs its posts is enabled by its signing key alone.
    inbound_settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-of-the-account"}
    response = client.post("/anymail/mailgun/inbound/", {"timestamp": "1", "token": "t"})
    assert response.status_code == 400, "enabled, and the unsigned post refused"


# --- processing, on stored mail ---------------------------------------------------------------


def store(mail: EmailMessage, **kwargs) -> InboundMail:
    record, _ = inbound.mail_store(mail.as_bytes(), transport="smtp", **kwargs)
    return record


@pytest.fixture
def process(task_queue, django_capture_on_commit_callbacks):
    """Store mail as a receiver does (committed, enqueued) and run what it sets off."""

    def process(mail: EmailMessage, **kwargs) -> InboundMail:
        with django_capture_on_commit_callbacks(execute=True):
            record = store(mail, **kwargs)
        while len(task_queue):
            with django_capture_on_commit_callbacks(execute=True):
                task_queue.run()
        record.refresh_from_db()
        return record

    return process


@pytest.mark.django_db
def test_a_crash_between_storing_and_processing_is_recovered(
    inbound_settings, customer, task_queue
):
    # Committed, but the process died before its on-commit enqueue ran.
    with transaction.atomic():
        record = store(compose(sender=customer.email))
    assert len(task_queue) == 0

    recovered = reconcile(now=timezone.now() + timedelta(minutes=1))
    assert sum(recovered.values()) == 1, recovered
    task_queue.run()

    record.refresh_from_db()
    assert record.status == MailStatus.PROCESSED
    assert Ticket.objects.get().channel == Channel.EMAIL


@pytest.mark.django_db
def test_a_reply_without_the_reply_address_threads_by_its_in_reply_to(
    inbound_settings, customer, process
):
    ticket = process(compose(sender=customer.email)).ticket
    (ack_event,) = Event.objects.filter(type="support.ticket.created.v1")
    ack_id = f"<{ack_event.id}.ack@support.example.com>"

    reply = process(
        compose(
            sender=customer.email,
            subject="Re: hi",
            text="Still broken.",
            headers={"In-Reply-To": ack_id},
        )
    )

    assert (reply.status, reply.ticket) == (MailStatus.PROCESSED, ticket)
    assert reply.ticket_message.body == "Still broken."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authentication_results, attached",
    [
        (None, False),  # a From line anyone can write
        (
            "mx.support.example.com; spf=pass smtp.mailfrom=customer.example.org; "
            "dkim=pass header.d=customer.example.org; dmarc=pass header.from=customer.example.org",
            True,
        ),
        ("mx.support.example.com; dmarc=fail header.from=customer.example.org", False),
        ("mx.forger.example; dmarc=pass header.from=customer.example.org", False),
    ],
)
def test_a_reply_matched_only_by_its_subject_needs_an_authenticated_sender(
    inbound_settings, customer, process, authentication_results, attached
):
    inbound_settings.SUPPORT_EMAIL_AUTHSERV_ID = "mx.support.example.com"
    ticket = process(compose(sender=customer.email)).ticket
    headers = {}
    if authentication_results:
        headers["Authentication-Results"] = authentication_results

    reply = process(
        compose(
            sender=customer.email,
            subject=f"Re: [{ticket.reference}] The dashboard",
            text="Please send the invoice to billing@forger.example instead.",
            headers=headers,
        )
    )

    assert reply.ticket == ticket
    if attached:
        assert reply.status == MailStatus.PROCESSED
        assert reply.ticket_message.author == customer
    else:
        assert reply.status == MailStatus.HELD
        assert "matched only by its subject, from a sender not authenticated" in reply.reason
        assert not Message.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_the_customers_reply_to_a_closed_ticket_opens_a_new_one(
    inbound_settings, smtp_server, customer, agent, process
):
    closed = process(compose(sender=customer.email)).ticket
    services.ticket_update(ticket=closed, by=agent, status=Status.CLOSED)

    reply = process(
        compose(
            sender=customer.email,
            to=reply_address(closed.pk),
            subject=f"Re: [{closed.reference}] The dashboard is down",
            text="It is down again.\n\nOn Mon, 3 Nov 2025, Support wrote:\n> Closed.",
        )
    )

    new = reply.ticket
    assert reply.status == MailStatus.PROCESSED
    assert new != closed and (new.customer, new.channel) == (customer, Channel.EMAIL)
    assert new.body == "It is down again."
    assert f"in answer to the closed {closed.reference}" in reply.reason
    assert not Message.objects.filter(ticket=closed).exists()
    acknowledged = [
        m["Subject"].split()[0]
        for m in smtp_server.messages
        if "We received your request" in m["Subject"]
    ]
    assert acknowledged == [f"[{closed.reference}]", f"[{new.reference}]"]


@pytest.mark.django_db
def test_a_forged_reply_address_does_not_reach_the_ticket(inbound_settings, customer, process):
    ticket = process(compose(sender=customer.email)).ticket
    local, domain = reply_address(ticket.pk).split("@")
    forged = f"{local[:-1]}{'1' if local.endswith('0') else '0'}@{domain}"

    record = process(compose(sender=customer.email, to=forged, subject="Hello again"))

    assert record.ticket != ticket, "a new request, not a reply to the ticket"
    assert not Message.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_an_unknown_sender_is_held_and_never_answered_by_default(
    inbound_settings, smtp_server, process
):
    record = process(compose(sender="stranger@elsewhere.example"))

    assert record.status == MailStatus.HELD and "unknown sender" in record.reason
    assert not Ticket.objects.exists()
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_an_unknown_sender_gets_an_account_when_the_setting_says_create(
    inbound_settings, smtp_server, process
):
    inbound_settings.SUPPORT_EMAIL_UNKNOWN_SENDERS = "create"
    record = process(compose(sender="Sam Stranger <Stranger@Elsewhere.example>"))

    ticket = record.ticket
    assert ticket.customer.email == "stranger@elsewhere.example"
    assert ticket.customer.first_name == "Sam Stranger"
    assert not ticket.customer.has_usable_password()
    (ack,) = smtp_server.messages
    assert ack["To"] == "stranger@elsewhere.example"


@pytest.mark.django_db
def test_an_agent_reviews_held_mail_into_a_ticket_or_an_internal_note(
    inbound_settings, customer, agent, process
):
    held = process(compose(sender="stranger@elsewhere.example"))
    reviewed = inbound.mail_process(mail_id=held.pk, reviewer=agent)
    assert reviewed.status == MailStatus.PROCESSED
    assert reviewed.ticket.customer.email == "stranger@elsewhere.example"

    ticket = process(compose(sender=customer.email)).ticket
    intruder = process(
        compose(sender="colleague@customer.example.org", to=reply_address(ticket.pk), text="FYI")
    )
    assert intruder.status == MailStatus.HELD
    inbound.mail_process(mail_id=intruder.pk, reviewer=agent)

    (note,) = Message.objects.filter(ticket=ticket)
    assert (note.internal, note.author, note.channel) == (True, agent, Channel.EMAIL)
    assert "colleague@customer.example.org" in note.body and "FYI" in note.body


@pytest.mark.django_db
def test_a_flood_from_one_sender_is_held_past_the_rate_limit(inbound_settings, customer, process):
    inbound_settings.SUPPORT_EMAIL_RATE_LIMIT = 2
    outcomes = [
        process(compose(sender=customer.email, subject=f"Question {n}")).status for n in range(4)
    ]

    assert outcomes == [MailStatus.PROCESSED] * 2 + [MailStatus.HELD] * 2
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_html_only_mail_becomes_clean_text(inbound_settings, customer, process):
    html = (
        "<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
        "<p>Hello,</p><p>the export\u200b button &amp; the <b>report</b> fail.</p>"
        "<p>Text\u202egnp.exe</p></body></html>"
    )
    ticket = process(compose(sender=customer.email, text=None, html=html)).ticket

    assert ticket.body.split("\n")[0] == "Hello,"
    assert "the export button & the report fail." in ticket.body
    assert "Textgnp.exe" in ticket.body, "no bidirectional override reaches an agent"
    assert "<" not in ticket.body and "alert" not in ticket.body and "color" not in ticket.body


@pytest.mark.django_db
def test_attachments_within_the_limits_are_kept_and_the_others_noted(
    inbound_settings, customer, process
):
    inbound_settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1000
    mail = compose(sender=customer.email)
    mail.add_attachment(b"%PDF-1.4 small", maintype="application", subtype="pdf", filename="a.pdf")
    mail.add_attachment(
        b"x" * 2000, maintype="image", subtype="png", filename="../../screenshot.png"
    )
    mail.add_attachment(
        b"MZ", maintype="application", subtype="x-msdownload", filename="report.exe"
    )
    ticket = process(mail).ticket

    (message,) = ticket.messages.all()
    (kept,) = message.attachments.all()
    assert (kept.filename, kept.content_type, kept.file.read()) == (
        "a.pdf",
        "application/pdf",
        b"%PDF-1.4 small",
    )
    assert "../" not in kept.file.name
    assert (
        "Attachment screenshot.png (image/png, 2.0 KB) was not kept: it is larger than "
        "the 1000 bytes limit." in message.body
    )
    assert (
        "Attachment report.exe (application/x-msdownload, 2 bytes) was not kept: files of "
        "this type are not accepted." in message.body
    )


@pytest.mark.django_db
def test_a_reply_with_an_attachment_carries_it_on_the_customers_message(
    inbound_settings, customer, process
):
    ticket = process(compose(sender=customer.email)).ticket
    reply = compose(sender=customer.email, to=reply_address(ticket.pk), text="Screenshot attached.")
    reply.add_attachment(b"\x89PNG tiny", maintype="image", subtype="png", filename="shot.png")

    message = process(reply).ticket_message

    assert (message.ticket, message.body, message.channel) == (
        ticket,
        "Screenshot attached.",
        Channel.EMAIL,
    )
    assert [a.filename for a in message.attachments.all()] == ["shot.png"]


@pytest.mark.django_db
def test_attachments_past_the_count_limit_are_noted_not_kept(inbound_settings, customer, process):
    inbound_settings.SUPPORT_ATTACHMENT_MAX_COUNT = 2
    mail = compose(sender=customer.email)
    mail.add_attachment(b"MZ", maintype="application", subtype="x-msdownload", filename="a.exe")
    for n in range(1, 4):
        mail.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename=f"{n}.pdf")

    (message,) = process(mail).ticket.messages.all()

    assert [a.filename for a in message.attachments.all()] == ["1.pdf", "2.pdf"]
    assert (
        "Attachment 3.pdf (application/pdf, 4 bytes) was not kept: the email has more than 2 "
        "attachments." in message.body
    )
    assert "a.exe (application/x-msdownload, 2 bytes) was not kept: files of this type" in (
        message.body
    )


def deeply_nested(depth: int) -> bytes:
    """A message of ``depth`` multiparts, each inside the last: 67 KB for a thousand."""
    head = (
        b"From: mallory@elsewhere.example\r\nTo: " + SUPPORT.encode() + b"\r\n"
        b"Subject: Deep\r\nMessage-ID: <deep@elsewhere.example>\r\nMIME-Version: 1.0\r\n"
    )
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--" % n for n in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nhi" + closing + b"\r\n"


@pytest.mark.django_db
def test_a_message_nested_too_deeply_to_read_is_stored_and_held(inbound_settings):
    record, stored = inbound.mail_store(deeply_nested(1000), transport="smtp")
    assert stored and (record.subject, record.message_id) == ("Deep", "<deep@elsewhere.example>")

    record = inbound.mail_process(mail_id=record.pk)

    assert record.status == MailStatus.HELD
    assert record.reason == "the email nests its parts too deeply to be read"
    assert "cannot be displayed" in inbound.mail_text(record)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_held_email_whose_review_fails_stays_held(inbound_settings, agent, process, monkeypatch):
    held = process(compose(sender="stranger@elsewhere.example"))

    def database_hiccup(**kwargs):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(services, "ticket_create", database_hiccup)
    with pytest.raises(ConnectionError):
        inbound.mail_process(mail_id=held.pk, reviewer=agent)

    held.refresh_from_db()
    assert held.status == MailStatus.HELD, "not failed: no delivery would ever retry it"
    assert "unknown sender" in held.reason


@pytest.mark.django_db
def test_the_acknowledgement_of_a_web_ticket_is_auto_generated_not_a_reply(
    inbound_settings, smtp_server, customer, submit, settle
):
    submit(customer)
    settle()

    (ack,) = smtp_server.messages
    assert ack["Auto-Submitted"] == "auto-generated"
    assert "In-Reply-To" not in ack
