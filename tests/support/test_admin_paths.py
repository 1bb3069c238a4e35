"""Every admin path that changes a ticket or a message has the outcome of the service it stands
for: the same fields, timestamps, SLA due time and events. Nothing writes around the services.

Each test makes one change on one ticket through the admin and the same change on a twin
ticket through the service, then compares what each left behind.
"""

from collections.abc import Sequence
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from eventplatform.events.models import Event
from support import services
from support.models import Message, Priority, Status, Ticket
from tests.clients import api_client_for

pytestmark = pytest.mark.django_db

# Payload fields that name the ticket, the moment or the way in (the admin is the web, the
# API is the API), so differ between two twin tickets.
PER_TICKET = {"ticket_id", "reference", "message_id", "created_at", "sla_due_at", "channel"}


def outcome(ticket: Ticket) -> dict:
    """What a change left on ``ticket`` that a user would notice, comparable between twins."""
    ticket.refresh_from_db()
    first_response = ticket.messages.filter(created_at=ticket.first_responded_at).first()
    events = Event.objects.filter(payload__ticket_id=ticket.pk).order_by("position")
    return {
        "status": ticket.status,
        "priority": ticket.priority,
        "priority_reason": ticket.priority_reason,
        "assignee": ticket.assignee_id,
        "sla_due_after": ticket.sla_due_at and ticket.sla_due_at - ticket.created_at,
        "sla_breached": ticket.sla_breached_at is not None,
        "first_response": first_response and first_response.body,
        "messages": list(ticket.messages.values_list("author", "body", "from_agent", "internal")),
        "events": [
            (event.type, {k: v for k, v in event.payload.items() if k not in PER_TICKET})
            for event in events
        ],
    }


@pytest.fixture
def twins(customer) -> tuple[Ticket, Ticket]:
    """Two prioritised tickets alike: one to change in the admin, one through the service."""
    return tuple(
        services.ticket_prioritise(
            ticket_id=services.ticket_create(customer=customer, subject="Jam", body="Again.").pk
        )
        for _ in range(2)
    )


def change_form(ticket: Ticket, *, messages: Sequence[dict] = (), **changes) -> dict:
    """The ticket's admin change form as the browser submits it, with ``changes`` applied and
    ``messages`` added as new inline rows."""
    existing = ticket.messages.count()
    data = {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "messages-TOTAL_FORMS": existing + len(messages),
        "messages-INITIAL_FORMS": existing,
    }
    for index, message in enumerate(messages, start=existing):
        data.update({f"messages-{index}-{field}": value for field, value in message.items()})
    return {**data, **changes}


def save_in_admin(client, ticket: Ticket, data: dict):
    return client.post(reverse("admin:support_ticket_change", args=[ticket.pk]), data)


def test_adding_a_ticket_in_the_admin_submits_it_as_the_api_does(
    settings, admin_client, customer, outage_rule, settle, django_capture_on_commit_callbacks
):
    settings.SLACK_WEBHOOK_URL = settings.CRM_WEBHOOK_URL = ""
    submitted = {"subject": "Checkout outage", "body": "Payments fail."}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:support_ticket_add"),
            # The add form has no status, priority or assignee: the platform decides them.
            {"customer": customer.pk, **submitted, "status": "closed", "priority": "low"},
        )
        created = api_client_for(customer).post("/api/v1/tickets/", submitted, format="json")
    settle()

    assert response.status_code == 302
    assert created.status_code == 201
    through_admin = Ticket.objects.exclude(pk=created.json()["id"]).get()
    through_api = Ticket.objects.get(pk=created.json()["id"])
    assert outcome(through_admin) == outcome(through_api)
    assert through_admin.priority == Priority.URGENT
    assert through_admin.status == Status.OPEN
    assert through_admin.sla_due_at == through_admin.created_at + timedelta(hours=1)
    assert [event for event, _ in outcome(through_admin)["events"]] == [
        "support.ticket.created.v1",
        "support.ticket.prioritized.v1",
    ]


# Each change an operator makes on the change form, as a function of the agent to assign.
CHANGES = {
    "status": lambda agent: Status.PENDING,
    "priority": lambda agent: Priority.URGENT,
    "assignee": lambda agent: agent,
}


@pytest.mark.parametrize("field", CHANGES)
def test_a_change_in_the_admin_is_the_change_the_service_makes(
    admin_client, admin_user, agent, twins, field
):
    through_admin, through_service = twins
    value = CHANGES[field](agent)
    submitted = getattr(value, "pk", value)  # the form sends a user's id

    response = save_in_admin(
        admin_client, through_admin, change_form(through_admin, **{field: submitted})
    )
    services.ticket_update(ticket=through_service, by=admin_user, **{field: value})

    assert response.status_code == 302
    assert outcome(through_admin) == outcome(through_service)
    assert getattr(through_admin, field) == value
    assert len(outcome(through_admin)["events"]) == 3  # created, prioritised, and this change


def test_a_new_priority_in_the_admin_moves_the_sla_due_time(admin_client, twins):
    ticket = twins[0]

    save_in_admin(admin_client, ticket, change_form(ticket, priority=Priority.URGENT))

    ticket.refresh_from_db()
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=1)
    assert ticket.priority_reason == "set by admin"


@pytest.mark.parametrize("internal", [False, True], ids=["reply", "internal note"])
def test_a_message_added_in_the_admin_is_posted_as_the_service_posts_it(
    admin_client, agent, twins, internal
):
    through_admin, through_service = twins
    row = {
        "author": agent.pk,
        "body": "  We are on it.  ",
        **({"internal": "on"} if internal else {}),
    }

    response = save_in_admin(
        admin_client, through_admin, change_form(through_admin, messages=[row])
    )
    services.message_post(
        ticket=through_service, author=agent, body="  We are on it.  ", internal=internal
    )

    assert response.status_code == 302
    assert outcome(through_admin) == outcome(through_service)
    assert outcome(through_admin)["messages"] == [(agent.pk, "We are on it.", True, internal)]
    # A reply is the first response, and the SLA is met; a note is neither.
    assert outcome(through_admin)["first_response"] == (None if internal else "We are on it.")
    after_due = through_admin.sla_due_at + timedelta(seconds=1)
    assert services.sla_check(ticket_id=through_admin.pk, now=after_due) is internal


def test_messages_are_a_record_the_admin_neither_edits_nor_deletes(admin_client, agent, twins):
    ticket = twins[0]
    message = services.message_post(ticket=ticket, author=agent, body="As sent.")
    edited = {
        "messages-0-id": message.pk,
        "messages-0-ticket": ticket.pk,
        "messages-0-author": agent.pk,
        "messages-0-body": "Rewritten.",
        "messages-0-DELETE": "on",
    }

    page = admin_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    response = save_in_admin(admin_client, ticket, {**change_form(ticket), **edited})

    assert 'name="messages-0-body"' not in page.content.decode()
    assert "As sent." in page.content.decode()
    assert response.status_code == 302
    assert list(Message.objects.values_list("pk", "body")) == [(message.pk, "As sent.")]


def test_a_note_the_service_would_refuse_is_refused_in_the_admin_with_the_reason(
    admin_client, twins, customer
):
    ticket = twins[0]
    note = {"author": customer.pk, "body": "Let me see the notes.", "internal": "on"}

    response = save_in_admin(admin_client, ticket, change_form(ticket, messages=[note]))

    assert response.status_code == 200
    assert "Only agents write internal notes." in response.content.decode()
    assert not Message.objects.exists()


def test_the_admin_assigns_tickets_to_agents_only_as_the_service_does(
    admin_client, twins, customer
):
    ticket = twins[0]

    response = save_in_admin(admin_client, ticket, change_form(ticket, assignee=customer.pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["assignee"] == [
        "Tickets are assigned to agents only."
    ]
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_the_close_action_closes_as_the_service_does(admin_client, admin_user, twins):
    through_admin, through_service = twins
    changelist = reverse("admin:support_ticket_changelist")

    offered = admin_client.get(changelist).context["action_form"].fields["action"].choices
    response = admin_client.post(
        changelist, {"action": "close", "_selected_action": [through_admin.pk]}
    )
    services.ticket_update(ticket=through_service, by=admin_user, status=Status.CLOSED)

    assert [name for name, _ in offered] == ["", "close"]
    assert response.status_code == 302
    assert outcome(through_admin) == outcome(through_service)
    assert outcome(through_admin)["status"] == Status.CLOSED


def test_a_ticket_is_never_deleted_in_the_admin(admin_client, twins):
    ticket = twins[0]

    response = admin_client.post(
        reverse("admin:support_ticket_delete", args=[ticket.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_a_bulk_update_of_tickets_is_refused_and_points_to_the_services(twins):
    ticket = twins[0]

    with pytest.raises(TypeError, match=r"support\.services"):
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)

    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_write_that_is_no_domain_change_says_so_and_emits_nothing(twins):
    events_before = Event.objects.count()

    Ticket.objects.filter(pk=twins[0].pk).update_without_events(sla_due_at=timezone.now())

    assert Event.objects.count() == events_before
