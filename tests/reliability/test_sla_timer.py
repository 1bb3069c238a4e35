"""The running cluster fires the SLA timers the platform arms (django-q2 schedules)."""

import pytest
from django.utils import timezone
from django_q.models import Schedule

from eventplatform.events.models import Event
from support.events import SLA_BREACHED
from support.models import Ticket
from support.services import sla_schedule_name
from tests.stack import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ticket_nobody_answered_breaches_its_sla_on_time(platform):
    [ticket] = platform.post_tickets(1)
    platform.wait_until_every_reaction_arrived([ticket])
    timer = Schedule.objects.get(name=sla_schedule_name(ticket))

    # Its first-response target passes with no reply.
    now = timezone.now()
    Ticket.objects.filter(pk=ticket).update_without_events(sla_due_at=now)
    Schedule.objects.filter(pk=timer.pk).update(next_run=now)

    def breached():
        """the breach was published"""
        return Event.objects.filter(type=SLA_BREACHED.name, payload__ticket_id=ticket).exists()

    wait_for(breached, timeout=60, interval=0.5)
    assert Ticket.objects.get(pk=ticket).sla_breached_at is not None
