"""Agents and customers see how each ticket and each message reached the platform.

The channel is a word in the text (Web, API, Email), so a screen reader says it and nothing
depends on a colour or an icon.
"""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from support import services
from support.models import Channel, Message, Ticket
from tests.clients import api_client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def text(html: str) -> str:
    """What a screen reader reads of a piece of markup: its text, whitespace collapsed."""
    assert "aria-hidden" not in html and "visually-hidden" not in html
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def message_text(page: str, message: Message) -> str:
    article = re.search(
        rf'<article[^>]*data-message-id="{message.pk}".*?</article>', page, re.DOTALL
    )
    assert article, f"message {message.pk} is not on the page"
    return text(article.group(0))


def opening_text(page: str) -> str:
    """The ticket's first message, as its customer wrote it."""
    return text(re.search(r'<article class="message original">.*?</article>', page, re.DOTALL)[0])


def fact(page: str, term: str) -> str:
    return text(re.search(rf"<dt>{term}</dt><dd[^>]*>(.*?)</dd>", page, re.DOTALL)[1])


@pytest.fixture
def emailed_ticket(customer) -> Ticket:
    return services.ticket_create(
        customer=customer, subject="Refund", body="Please refund order 12.", channel=Channel.EMAIL
    )


@pytest.fixture
def conversation(emailed_ticket, customer, agent) -> dict[str, Message]:
    """A reply by email, an agent's answer on the web and an internal note through the API."""
    post = services.message_post
    return {
        "email": post(ticket=emailed_ticket, author=customer, body="Any news?", channel="email"),
        "web": post(ticket=emailed_ticket, author=agent, body="Refunded today."),
        "api": post(
            ticket=emailed_ticket, author=agent, body="Checked ledger", internal=True, channel="api"
        ),
    }


def test_the_agent_reads_how_the_ticket_and_each_message_arrived(
    agent, customer, emailed_ticket, conversation
):
    page = logged_in(agent).get(emailed_ticket.get_agent_url()).content.decode()

    assert fact(page, "Opened via") == "Email"
    assert opening_text(page) == f"{customer.first_name} wrote via Email Please refund order 12."
    assert "via Email" in message_text(page, conversation["email"])
    assert "via Web" in message_text(page, conversation["web"])
    assert "via API" in message_text(page, conversation["api"])
    assert "via Email" not in message_text(page, conversation["web"])


def test_the_customer_reads_how_their_ticket_and_its_replies_arrived(
    customer, emailed_ticket, conversation
):
    page = logged_in(customer).get(emailed_ticket.get_absolute_url()).content.decode()

    assert fact(page, "Opened via") == "Email"
    assert opening_text(page) == "You wrote via Email Please refund order 12."
    assert "via Email" in message_text(page, conversation["email"])
    assert "via Web" in message_text(page, conversation["web"])
    assert "Checked ledger" not in page


def test_a_ticket_opened_on_the_web_says_so(agent, customer):
    ticket = services.ticket_create(customer=customer, subject="Hello", body="From the form")
    page = logged_in(agent).get(ticket.get_agent_url()).content.decode()
    assert fact(page, "Opened via") == "Web"


def test_the_queue_has_a_channel_column(agent, customer):
    tickets = {
        channel: services.ticket_create(
            customer=customer, subject=f"By {channel}", body="?", channel=channel
        )
        for channel in Channel.values
    }

    page = logged_in(agent).get(reverse("support:queue")).content.decode()

    headers = re.findall(r"<th[^>]*>(.*?)</th>", page)
    assert headers[3] == "Channel"
    for channel, ticket in tickets.items():
        row = re.search(rf'<tr data-ticket-id="{ticket.pk}".*?</tr>', page, re.DOTALL)[0]
        cells = [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        assert cells[3] == Channel(channel).label
    assert 'colspan="8"' in page  # the empty queue's row still spans every column


def test_live_scripts_read_the_channel_labels_from_the_models(agent, emailed_ticket):
    page = logged_in(agent).get(emailed_ticket.get_agent_url()).content.decode()
    choices = re.search(
        r'<script id="support-choices" type="application/json">(.*?)</script>', page
    )[1]
    assert json.loads(choices)["channel"] == {"web": "Web", "api": "API", "email": "Email"}


def test_what_an_api_client_writes_is_recorded_as_api(customer):
    client = api_client_for(customer)
    created = client.post(
        "/api/v1/tickets/", {"subject": "Export", "body": "Empty CSV."}, format="json"
    )
    assert created.status_code == 201
    ticket = Ticket.objects.get(pk=created.json()["id"])
    posted = client.post(
        f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "Still empty."}, format="json"
    )
    assert posted.status_code == 201
    assert ticket.channel == Channel.API
    assert Message.objects.get(pk=posted.json()["id"]).channel == Channel.API
    page = logged_in(customer).get(ticket.get_absolute_url()).content.decode()
    assert fact(page, "Opened via") == "API"
