"""Evented models: a save publishes exactly what it changed, without reading the row first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eventplatform.events import Event
from support.models import Status, Ticket
from tests.factories import UserFactory
from training.models import Course, Enrollment

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer) -> Ticket:
    return Ticket.objects.create(customer=customer, subject="Printer on fire", body="Help")


def published(type_name: str) -> list[dict]:
    return [event.payload for event in Event.objects.filter(type=type_name).order_by("position")]


def test_a_status_change_is_published_with_the_status_it_replaced(ticket):
    ticket = Ticket.objects.get(pk=ticket.pk)
    ticket.status = Status.PENDING
    with CaptureQueriesContext(connection) as queries:
        ticket.save()

    [change] = published("support.ticket.status_changed.v1")
    assert (change["previous_status"], change["status"]) == ("open", "pending")
    ticket_reads = [
        q["sql"] for q in queries if q["sql"].startswith("SELECT") and "support_ticket" in q["sql"]
    ]
    assert ticket_reads == []


def test_a_save_that_changes_nothing_tracked_publishes_nothing(ticket):
    ticket.subject = "Printer still on fire"
    ticket.save()
    Ticket.objects.get(pk=ticket.pk).save()

    assert Event.objects.exclude(type="support.ticket.created.v1").count() == 0


def test_each_save_publishes_only_its_own_change(ticket, agent):
    ticket.status = Status.PENDING
    ticket.save()
    ticket.assignee = agent
    ticket.save()

    assert len(published("support.ticket.status_changed.v1")) == 1
    assert [e["assignee_id"] for e in published("support.ticket.assigned.v1")] == [agent.pk]


def test_a_save_of_some_fields_publishes_only_what_it_wrote(ticket):
    ticket.status = Status.CLOSED
    ticket.subject = "Solved"
    ticket.save(update_fields=["subject"])
    assert published("support.ticket.status_changed.v1") == []

    ticket.save()
    assert [e["status"] for e in published("support.ticket.status_changed.v1")] == ["closed"]


def test_a_refreshed_instance_compares_with_the_row_it_read(ticket):
    Ticket.objects.filter(pk=ticket.pk).update_without_events(status=Status.PENDING)
    ticket.refresh_from_db()
    ticket.save()
    assert published("support.ticket.status_changed.v1") == []


def test_an_enrollment_publishes_a_status_change_once(instructor):
    course = Course.objects.create(title="Django", instructor=instructor, published=True)
    enrollment = Enrollment.objects.create(learner=UserFactory(), course=course)
    enrollment.status = Enrollment.Status.CANCELLED
    enrollment.save()
    enrollment.save()

    assert Event.objects.filter(type="training.enrollment.cancelled.v1").count() == 1
