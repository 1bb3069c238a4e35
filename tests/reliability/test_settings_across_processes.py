"""Running workers keep the rules they read between changes, and an operator's change, committed
by another process, reaches the very next ticket."""

import pytest

from support.models import PrioritisationRule, Priority, Ticket
from tests.stack import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def prioritised(platform, subject: str) -> Ticket:
    """A ticket posted through the API, once the workers have prioritised it."""
    [ticket] = platform.post_tickets(1, prefix=subject)

    def done():
        """the ticket is prioritised"""
        return Ticket.objects.filter(pk=ticket, prioritised_at__isnull=False).exists()

    wait_for(done, timeout=30, interval=0.1)
    return Ticket.objects.get(pk=ticket)


def test_a_rule_switched_off_by_an_operator_no_longer_applies_to_the_next_ticket(platform):
    rule = PrioritisationRule.objects.create(
        name="Outages", position=10, priority=Priority.URGENT, keywords="outage"
    )
    assert prioritised(platform, "Checkout outage").priority == Priority.URGENT
    assert prioritised(platform, "Search outage").priority == Priority.URGENT

    rule.enabled = False
    rule.save()
    assert prioritised(platform, "Login outage").priority == Priority.NORMAL
