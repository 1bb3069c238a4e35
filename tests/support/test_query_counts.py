"""The support lists read in a fixed number of queries, however long they are.

Each test runs with 1 row and with 20 and pins the same count, so a customer, an assignee or
an author read once per row (an N+1) fails it. Pages count their session and user lookups; API
clients are authenticated without a query.
"""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eventplatform.events.models import Delivery
from support import services
from support.audience import AGENTS_ROLE
from support.models import Priority, Status, Ticket
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Session, user, the user's groups and the newest event they may see (live page), agent
# check, the menu's two role checks, the tickets with their customers and assignees.
QUEUE_QUERIES = 8
# Session, user, the user's groups and the newest event they may see, the menu's two role
# checks, the count of the customer's tickets and their page.
TICKET_LIST_QUERIES = 8
# Agent check, count, the page of tickets with their customers and assignees.
TICKET_API_QUERIES = 3
# The ticket (with its agent check), count, the page of messages with their authors, and the
# agent check that decides whether internal notes are shown.
MESSAGE_API_QUERIES = 5
# A ticket submitted with a token, its reactions queued after the commit: the token with its
# user; the transaction (a savepoint inside the test's own); the ticket; the webhook
# subscriptions; the event, its audiences and its deliveries (on PostgreSQL one statement).
# Nothing after the commit: the deliveries carry their enqueue time from their INSERT.
TICKET_POST_QUERIES = {"postgresql": 6, "sqlite": 8}

PRIORITIES = list(Priority)


@pytest.fixture(params=[1, 20], ids=lambda rows: f"{rows} rows")
def rows(request) -> int:
    return request.param


def someone(**fields):
    """A user who never logs in: no password to hash, so twenty of them cost nothing."""
    return UserFactory(password=None, **fields)


@pytest.fixture
def agents(agent) -> list:
    """The agent and a colleague, so that the queue shows more than one assignee."""
    colleague = someone(first_name="Sam")
    colleague.groups.add(Group.objects.get(name=AGENTS_ROLE))
    return [agent, colleague]


def open_tickets(customers: list, agents: list) -> list[Ticket]:
    """A ticket from each customer, in every priority, some assigned and some not."""
    tickets = []
    for number, customer in enumerate(customers):
        ticket = services.ticket_create(
            customer=customer, subject=f"Problem {number}", body="It does not work."
        )
        assignee = [*agents, None][number % (len(agents) + 1)]
        ticket = services.ticket_update(
            ticket=ticket,
            by=agents[0],
            priority=PRIORITIES[number % len(PRIORITIES)],
            status=Status.PENDING if number % 2 else None,
            assignee=assignee,
        )
        tickets.append(ticket)
    return tickets


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_agents_queue(client, agents, rows, django_assert_num_queries):
    open_tickets([someone() for _ in range(rows)], agents)
    client.force_login(agents[0])
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get(reverse("support:queue"))
    assert len(response.context["tickets"]) == rows


def test_a_customers_ticket_list(client, customer, agents, rows, django_assert_num_queries):
    open_tickets([customer] * rows, agents)
    client.force_login(customer)
    with django_assert_num_queries(TICKET_LIST_QUERIES):
        response = client.get(reverse("support:ticket-list"))
    assert len(response.context["tickets"]) == rows


def test_the_ticket_list_for_an_agent(agents, rows, django_assert_num_queries):
    open_tickets([someone() for _ in range(rows)], agents)
    with django_assert_num_queries(TICKET_API_QUERIES):
        response = api_client(agents[0]).get("/api/v1/tickets/", {"ordering": "urgency"})
    assert len(response.json()["results"]) == rows


def test_the_ticket_list_for_a_customer(customer, agents, rows, django_assert_num_queries):
    open_tickets([customer] * rows, agents)
    with django_assert_num_queries(TICKET_API_QUERIES):
        response = api_client(customer).get("/api/v1/tickets/")
    assert len(response.json()["results"]) == rows


def test_a_tickets_messages(customer, agents, rows, django_assert_num_queries):
    [ticket] = open_tickets([customer], agents)
    for number in range(rows):
        author = [customer, *agents][number % 3]
        services.message_post(
            ticket=ticket, author=author, body=f"Message {number}", internal=author == agents[1]
        )
    with django_assert_num_queries(MESSAGE_API_QUERIES):
        response = api_client(agents[0]).get(f"/api/v1/tickets/{ticket.pk}/messages/")
    assert len(response.json()["results"]) == rows


def test_submitting_a_ticket_with_a_token(
    customer, task_queue, django_assert_num_queries, django_capture_on_commit_callbacks
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer).key}")
    with (
        django_assert_num_queries(TICKET_POST_QUERIES[connection.vendor]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            "/api/v1/tickets/", {"subject": "Printer", "body": "It does not print."}, format="json"
        )
    assert response.status_code == 201
    assert Ticket.objects.get().subject == "Printer"
    queued = sorted(task["args"][0] for task in task_queue.tasks())
    assert queued == sorted(Delivery.objects.values_list("pk", flat=True)), "each reaction, once"
