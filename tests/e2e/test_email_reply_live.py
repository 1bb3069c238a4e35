"""A customer answers by email, and the agent's open ticket page shows the reply live.

The mail goes over SMTP to ``manage.py run_mail_receiver``, a real process, addressed to the
ticket's signed reply address; the worker cluster processes it and the web process pushes it
to the agent's socket, as a web reply would be.
"""

import base64
import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from playwright.sync_api import expect

from support.reply_addresses import reply_address
from support.services import ticket_create
from tests.e2e.conftest import SUPPORT_ADDRESS, screenshot, user
from tests.receivers import free_port

# A 1 x 1 PNG: the screenshot the customer sends along.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5Er"
    "kJggg=="
)


@pytest.fixture(scope="module")
def mail_receiver(stack):
    """``manage.py run_mail_receiver`` beside the stack, on a free port; yields its address."""
    port = free_port()
    stack.start_mail_receiver("mail", port)
    yield "127.0.0.1", port
    stack.stop("mail")


def wait_live(page) -> None:
    expect(page.locator("[data-stream-status]").first).to_have_attribute(
        "data-stream-status", re.compile("live")
    )


def customer_reply(ticket, customer) -> EmailMessage:
    """What the customer's mail client sends when they answer the acknowledgement: the reply
    address, the reference in the subject, their text above the quoted original, a file."""
    mail = EmailMessage()
    mail["From"] = f"{customer.first_name} <{customer.email}>"
    mail["To"] = reply_address(ticket.pk)
    mail["Subject"] = f"Re: [{ticket.reference}] We received your request: {ticket.subject}"
    mail["Message-ID"] = make_msgid(domain="mail.example.net")
    mail.set_content(
        "The invoice says VAT DE987654321, but ours is DE123456789.\n"
        "A screenshot is attached.\n"
        "\n"
        "On Mon, 30 Nov 2026 at 09:00, Event Platform <noreply@localhost> wrote:\n"
        "> Thank you for contacting us. Your request is in our queue.\n"
    )
    mail.add_attachment(PNG, maintype="image", subtype="png", filename="invoice.png")
    return mail


def test_a_customers_email_reply_appears_live_on_the_agents_ticket_page(
    login, mail_receiver, settings
):
    settings.SUPPORT_EMAIL_ADDRESS = SUPPORT_ADDRESS  # the reply address this test writes to
    customer = user("customer")
    ticket = ticket_create(
        customer=customer, subject="Wrong VAT number on my invoice", body="Invoice 2026-118."
    )
    agent = login("agent")
    agent.page.goto(ticket.get_agent_url())
    wait_live(agent.page)

    with smtplib.SMTP(*mail_receiver, timeout=10) as smtp:
        smtp.send_message(customer_reply(ticket, customer))

    messages = agent.page.locator("[data-messages] article")
    reply = messages.filter(has_text="DE123456789")
    expect(reply).to_be_visible(timeout=15_000)
    expect(reply.locator(".channel")).to_have_text("via Email")
    expect(reply).not_to_contain_text("Your request is in our queue")  # quoted history
    expect(agent.page.locator("[data-announcer]")).to_contain_text(
        f"Message from {customer.first_name} via Email"
    )
    attachment = reply.get_by_role("link", name="invoice.png")
    expect(attachment).to_be_visible()
    expect(reply.locator("[data-attachments]")).to_contain_text("image/png, 70 bytes")
    screenshot(agent.page, "agent-ticket-email-reply-live")

    download = agent.page.request.get(attachment.get_attribute("href"))
    assert download.status == 200
    assert download.body() == PNG
    assert download.headers["content-disposition"] == 'attachment; filename="invoice.png"'
    assert download.headers["x-content-type-options"] == "nosniff"

    agent.page.reload()  # what was pushed live is what the page renders
    expect(reply).to_have_count(1)
    expect(reply.locator(".channel")).to_have_text("via Email")
    expect(reply.get_by_role("link", name="invoice.png")).to_be_visible()
    assert agent.dialogs == [] and agent.errors == [], (agent.dialogs, agent.errors)
