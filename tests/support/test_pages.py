"""The web pages: who may open them, what they show, and forms that explain their errors."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from support import services
from support.models import Message, Ticket
from support.views import TICKETS_PER_PAGE
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def ticket(customer):
    return services.ticket_create(customer=customer, subject="Printer on fire", body="Smoke!")


@pytest.mark.parametrize("name", ["support:queue", "support:agent-ticket"])
def test_agent_pages_are_forbidden_to_customers_and_ask_anonymous_users_to_log_in(
    customer, ticket, name
):
    url = reverse(name, args=[ticket.pk] if "ticket" in name else [])
    assert logged_in(customer).get(url).status_code == 403
    response = Client().get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_customer_submits_a_ticket_and_lands_on_its_page(customer):
    client = logged_in(customer)
    response = client.post(
        reverse("support:ticket-new"),
        {"subject": "Login fails", "body": "Since this morning."},
        follow=True,
    )
    ticket = Ticket.objects.get()
    assert response.redirect_chain[-1][0] == ticket.get_absolute_url()
    page = response.content.decode()
    assert ticket.reference in page and "Login fails" in page
    assert "data-stream-status" in page and 'name="stream-since"' in page
    assert "js/support-ticket.js" in page


@pytest.mark.parametrize(
    "subject, body, field",
    [
        ("x" * 201, "fine", "subject"),
        ("fine", "x" * 20_001, "body"),
        ("", "fine", "subject"),
    ],
)
def test_form_errors_are_shown_inline_and_nothing_is_written(customer, subject, body, field):
    response = logged_in(customer).post(
        reverse("support:ticket-new"), {"subject": subject, "body": body}
    )
    assert response.status_code == 200
    assert f'data-error-for="{field}"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_customers_see_their_tickets_but_not_others_or_internal_notes(customer, agent, ticket):
    services.message_post(ticket=ticket, author=agent, body="Extinguisher on the way")
    services.message_post(ticket=ticket, author=agent, body="Third fire this week", internal=True)
    client = logged_in(customer)
    listing = client.get(reverse("support:ticket-list")).content.decode()
    assert f'data-ticket-id="{ticket.pk}"' in listing
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Extinguisher on the way" in page
    assert "Third fire" not in page
    assert "data-messages" in page

    stranger = UserFactory(username="stranger")
    assert logged_in(stranger).get(ticket.get_absolute_url()).status_code == 404
    assert (
        "Printer on fire"
        not in logged_in(stranger).get(reverse("support:ticket-list")).content.decode()
    )


def test_a_customer_pages_through_their_tickets_newest_first(customer):
    tickets = [
        services.ticket_create(customer=customer, subject=f"Question {n}", body="b")
        for n in range(TICKETS_PER_PAGE + 5)
    ]
    client = logged_in(customer)

    def page(number=None) -> str:
        query = {} if number is None else {"page": number}
        return client.get(reverse("support:ticket-list"), query).content.decode()

    def shown(html: str) -> list[int]:
        return [int(pk) for pk in re.findall(r'<tr data-ticket-id="(\d+)"', html)]

    first, last = page(), page(2)
    assert shown(first) == [t.pk for t in reversed(tickets[5:])]
    assert shown(last) == [t.pk for t in reversed(tickets[:5])]
    assert "Page 1 of 2" in first and 'href="?page=2" rel="next">Older</a>' in first
    assert "Page 2 of 2" in last and 'href="?page=1" rel="prev">Newer</a>' in last
    # New tickets appear live at the top of the first page only.
    assert "data-newest" in first and "data-newest" not in last
    # A page past the end shows the last; one that is no number, the first.
    assert shown(page(99)) == shown(last)
    assert shown(page("x")) == shown(first)


def test_user_text_is_escaped(customer):
    services.ticket_create(customer=customer, subject="<script>alert(1)</script>", body="b")
    page = logged_in(customer).get(reverse("support:ticket-list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_queue_shows_active_tickets_most_pressing_first_with_live_hooks(
    agent, customer, ticket
):
    urgent = services.ticket_create(customer=customer, subject="Data loss", body="!")
    services.ticket_update(ticket=urgent, by=agent, priority="urgent")
    done = services.ticket_create(customer=customer, subject="Old news", body="-")
    services.ticket_update(ticket=done, by=agent, status="resolved")

    page = logged_in(agent).get(reverse("support:queue")).content.decode()
    assert page.index(f'data-ticket-id="{urgent.pk}"') < page.index(f'data-ticket-id="{ticket.pk}"')
    assert f'data-ticket-id="{done.pk}"' not in page
    for hook in (
        'data-field="priority"',
        'data-field="status"',
        "data-stream-status",
        "js/support-queue.js",
        "css/support.css",
    ):
        assert hook in page
    assert (
        f'data-ticket-id="{done.pk}"'
        in logged_in(agent).get(reverse("support:queue"), {"view": "all"}).content.decode()
    )


def test_a_ticket_not_yet_prioritised_waits_in_the_queue_behind_those_with_a_due_time(
    agent, customer, ticket
):
    # As the live queue sorts it: a ticket without a due time goes last within its priority.
    due = services.ticket_prioritise(
        ticket_id=services.ticket_create(customer=customer, subject="Due", body="-").pk
    )

    page = logged_in(agent).get(reverse("support:queue")).content.decode()

    assert page.index(f'data-ticket-id="{due.pk}"') < page.index(f'data-ticket-id="{ticket.pk}"')


def test_the_pages_scripts_read_labels_and_ranks_from_the_models(agent, customer, ticket):
    page = logged_in(agent).get(reverse("support:queue")).content.decode()
    listing = logged_in(customer).get(reverse("support:ticket-list")).content.decode()

    for html in (page, listing):
        assert '<script id="support-choices" type="application/json">' in html
    assert '"rank": {"urgent": 0, "high": 1, "normal": 2, "low": 3}' in page
    assert 'data-ticket-api-url="/api/v1/tickets/0/"' in page


def test_an_agent_replies_adds_a_note_assigns_and_changes_status_from_the_ticket_page(
    agent, ticket
):
    client = logged_in(agent)
    client.post(
        reverse("support:agent-message", args=[ticket.pk]),
        {"body": "We are on it", "kind": "reply"},
    )
    client.post(
        reverse("support:agent-message", args=[ticket.pk]),
        {"body": "Call facilities", "kind": "note"},
    )
    client.post(reverse("support:agent-update", args=[ticket.pk]), {"assign": "me"})
    client.post(reverse("support:agent-update", args=[ticket.pk]), {"status": "pending"})
    client.post(reverse("support:agent-update", args=[ticket.pk]), {"priority": "high"})

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status, ticket.priority) == (agent, "pending", "high")
    assert ticket.first_responded_at is not None
    assert list(Message.objects.values_list("body", "internal")) == [
        ("We are on it", False),
        ("Call facilities", True),
    ]
    page = client.get(ticket.get_agent_url()).content.decode()
    assert "Call facilities" in page and "Unassign me" in page


def test_the_navigation_offers_each_role_its_pages(customer, agent):
    customer_home = logged_in(customer).get(reverse("home")).content.decode()
    assert reverse("support:ticket-list") in customer_home
    assert reverse("support:queue") not in customer_home
    agent_home = logged_in(agent).get(reverse("home")).content.decode()
    assert reverse("support:queue") in agent_home
