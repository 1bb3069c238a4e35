"""The tickets API: who sees and changes what, filters, and bad input as 400s."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from support import services
from support.models import Message, Priority, Ticket
from tests.clients import api_client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/tickets/"


@pytest.fixture
def other_customer(db):
    return UserFactory(username="other-customer")


@pytest.fixture
def tickets(customer, other_customer, agent):
    mine = services.ticket_create(customer=customer, subject="Mine", body="My problem")
    theirs = services.ticket_create(customer=other_customer, subject="Theirs", body="Secret")
    services.message_post(ticket=mine, author=agent, body="Hello from support")
    services.message_post(ticket=mine, author=agent, body="VIP, be careful", internal=True)
    return {"mine": mine, "theirs": theirs}


def test_anonymous_requests_are_refused():
    assert APIClient().get(TICKETS).status_code == 401


def test_a_customer_lists_only_their_own_tickets_and_agents_list_all(customer, agent, tickets):
    listed = api_client_for(customer).get(TICKETS).json()
    assert [t["subject"] for t in listed["results"]] == ["Mine"]
    assert listed["results"][0]["reference"] == tickets["mine"].reference
    assert {t["subject"] for t in api_client_for(agent).get(TICKETS).json()["results"]} == {
        "Mine",
        "Theirs",
    }


def test_a_customer_cannot_read_or_change_or_write_on_another_customers_ticket(customer, tickets):
    client = api_client_for(customer)
    theirs = f"{TICKETS}{tickets['theirs'].pk}/"
    assert client.get(theirs).status_code == 404
    assert client.get(theirs + "messages/").status_code == 404
    assert client.post(theirs + "messages/", {"body": "hi"}).status_code == 404
    assert client.patch(theirs, {"status": "closed"}).status_code == 403
    tickets["theirs"].refresh_from_db()
    assert tickets["theirs"].status == "open"
    assert not Message.objects.filter(ticket=tickets["theirs"]).exists()


def test_a_customer_cannot_change_their_own_tickets_status(customer, tickets):
    response = api_client_for(customer).patch(
        f"{TICKETS}{tickets['mine'].pk}/", {"status": "closed", "priority": "urgent"}
    )
    assert response.status_code == 403
    tickets["mine"].refresh_from_db()
    assert (tickets["mine"].status, tickets["mine"].priority) == ("open", "normal")


def test_customers_never_see_internal_notes_and_cannot_write_them(customer, agent, tickets):
    url = f"{TICKETS}{tickets['mine'].pk}/messages/"
    seen = api_client_for(customer).get(url).json()["results"]
    assert [m["body"] for m in seen] == ["Hello from support"]
    assert [m["internal"] for m in api_client_for(agent).get(url).json()["results"]] == [
        False,
        True,
    ]
    response = api_client_for(customer).post(
        url, {"body": "sneaky", "internal": True}, format="json"
    )
    assert response.status_code == 403
    assert not Message.objects.filter(body="sneaky").exists()


def test_a_customer_creates_a_ticket_and_replies(customer):
    client = api_client_for(customer)
    response = client.post(TICKETS, {"subject": "Cannot export", "body": "The CSV is empty."})
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["status"], created["customer"]) == ("open", customer.pk)
    assert created["reference"] == f"T-{created['id']:05d}"
    reply = client.post(f"{TICKETS}{created['id']}/messages/", {"body": "Any news?"})
    assert reply.status_code == 201
    assert (reply.json()["from_agent"], reply.json()["internal"]) == (False, False)


def test_an_agent_updates_status_priority_and_assignee(agent, tickets):
    client = api_client_for(agent)
    url = f"{TICKETS}{tickets['mine'].pk}/"
    response = client.patch(
        url, {"status": "pending", "priority": "high", "assignee": agent.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["assignee"]) == ("pending", "high", agent.pk)
    assert body["sla_due_at"] is not None
    assert client.patch(url, {"assignee": None}, format="json").json()["assignee"] is None


def test_tickets_are_assigned_to_agents_only(agent, customer, tickets):
    response = api_client_for(agent).patch(
        f"{TICKETS}{tickets['mine'].pk}/", {"assignee": customer.pk}, format="json"
    )
    assert response.status_code == 400
    assert "assignee" in response.json()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"subject": "x" * 201, "body": "fine"}, "subject"),
        ({"subject": "fine", "body": "x" * 20_001}, "body"),
        ({"subject": "", "body": "fine"}, "subject"),
        ({"subject": "fine"}, "body"),
        ({"subject": "   ", "body": "fine"}, "subject"),
        ({"subject": "Help\nBcc: everyone@example.com", "body": "fine"}, "subject"),
    ],
)
def test_bad_tickets_are_400s_naming_the_field_and_nothing_is_written(customer, payload, field):
    response = api_client_for(customer).post(TICKETS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Ticket.objects.exists()


def test_the_longest_allowed_ticket_is_accepted(customer):
    response = api_client_for(customer).post(
        TICKETS, {"subject": "s" * 200, "body": "b" * 20_000}, format="json"
    )
    assert response.status_code == 201


def test_an_oversize_message_is_a_400_and_nothing_is_written(customer, tickets):
    response = api_client_for(customer).post(
        f"{TICKETS}{tickets['mine'].pk}/messages/", {"body": "x" * 20_001}, format="json"
    )
    assert response.status_code == 400
    assert "body" in response.json()
    assert Message.objects.filter(ticket=tickets["mine"]).count() == 2


def test_a_status_that_does_not_exist_is_a_400(agent, tickets):
    response = api_client_for(agent).patch(f"{TICKETS}{tickets['mine'].pk}/", {"status": "solved"})

    assert response.status_code == 400
    assert list(response.json()) == ["status"]
    tickets["mine"].refresh_from_db()
    assert tickets["mine"].status == "open"


@pytest.mark.parametrize(
    "param, value",
    [
        ("assignee", "²"),  # a digit to str.isdigit(), not to int()
        ("assignee", "٣"),  # an Arabic-Indic three: int() would read it as 3
        ("assignee", "1.5"),
        ("assignee", "-1"),
        ("assignee", "5\n"),
        ("assignee", "9" * 30),  # past 64 bits: no id, and no overflow either
        ("status", "solved"),
        ("priority", "critical"),
        ("ordering", "subject"),
        ("ordering", "-"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(agent, tickets, param, value):
    response = api_client_for(agent).get(TICKETS, {param: value})

    assert response.status_code == 400
    assert list(response.json()) == [param]


@pytest.mark.parametrize(
    "assignee",
    [lambda pk: pk + 0.5, str, lambda pk: True, lambda pk: [pk], lambda pk: {"id": pk}],
    ids=["a fraction", "a string", "a boolean", "a list", "an object"],
)
def test_an_assignee_that_is_not_an_integer_is_a_400_not_a_coercion(agent, tickets, assignee):
    # Each is what a loose reading would take for the agent's own id.
    typed = assignee(agent.pk)
    response = api_client_for(agent).patch(
        f"{TICKETS}{tickets['mine'].pk}/", {"assignee": typed}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]
    tickets["mine"].refresh_from_db()
    assert tickets["mine"].assignee is None


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"body": "Psst", "internal": 1}, "internal"),
        ({"body": "Psst", "internal": "yes"}, "internal"),
        ({"body": "Psst", "internal": "true"}, "internal"),
        ({"body": 42}, "body"),
    ],
)
def test_a_message_field_of_the_wrong_type_is_a_400(agent, tickets, payload, field):
    response = api_client_for(agent).post(
        f"{TICKETS}{tickets['mine'].pk}/messages/", payload, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Message.objects.filter(ticket=tickets["mine"]).count() == 2


def test_a_ticket_subject_must_be_text(customer):
    response = api_client_for(customer).post(
        TICKETS, {"subject": 404, "body": "Not found"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["subject"]
    assert not Ticket.objects.exists()


def test_a_form_encoded_body_spells_ids_and_booleans_as_text(agent, tickets):
    client = api_client_for(agent)
    url = f"{TICKETS}{tickets['mine'].pk}/"

    assigned = client.patch(url, {"assignee": str(agent.pk)}, format="multipart")
    note = client.post(url + "messages/", {"body": "VIP", "internal": "true"}, format="multipart")

    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == agent.pk
    assert note.status_code == 201
    assert note.json()["internal"] is True


def test_agents_filter_and_order_the_list(agent, customer, tickets):
    urgent = services.ticket_create(customer=customer, subject="Urgent one", body="!")
    services.ticket_update(ticket=urgent, by=agent, priority=Priority.URGENT, assignee=agent)
    client = api_client_for(agent)

    def subjects(**params):
        return [t["subject"] for t in client.get(TICKETS, params).json()["results"]]

    assert subjects(priority="urgent") == ["Urgent one"]
    assert subjects(assignee="me") == ["Urgent one"]
    assert subjects(assignee="none", ordering="created_at") == ["Mine", "Theirs"]
    assert subjects(status="open", ordering="urgency")[0] == "Urgent one"
    assert subjects(status="closed") == []


def test_the_api_is_described_in_the_openapi_schema(agent):
    client = APIClient()
    client.force_login(agent)
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    paths = schema["paths"]
    assert "/api/v1/tickets/" in paths and "/api/v1/tickets/{id}/messages/" in paths
    assert paths["/api/v1/tickets/"]["post"]["summary"] == "Submit a ticket"
    filters = {p["name"] for p in paths["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"status", "priority", "assignee", "ordering"} <= filters


@pytest.mark.parametrize("page", ["two", "0", "²"])
def test_a_page_that_is_no_page_number_is_a_400_naming_it(agent, tickets, page):
    answer = api_client_for(agent).get("/api/v1/tickets/", {"page": page})
    assert answer.status_code == 400
    assert list(answer.json()) == ["page"]
