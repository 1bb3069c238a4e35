"""An operator follows a customer's ticket from its admin page to every reaction it set off."""

import re

from playwright.sync_api import expect

from eventplatform.events.models import Delivery, Event
from support.models import Ticket
from tests.e2e.accessibility import axe_violations
from tests.e2e.conftest import screenshot
from tests.stack import wait_for

FINISHED = [Delivery.Status.SUCCEEDED, Delivery.Status.SKIPPED, Delivery.Status.DEAD]
# The submission's reactions: the email, the rules, Slack and the CRM.
REACTIONS = [
    "support.acknowledgement-email",
    "support.prioritisation",
    "support.slack-new-ticket",
    "support.crm-update",
]


def test_an_operator_follows_a_ticket_to_its_last_reaction(login):
    customer = login("customer").page
    customer.goto("/tickets/new/")
    customer.get_by_label("Subject").fill("Refund not received")
    customer.get_by_label("Describe the problem").fill("It has been two weeks.")
    with customer.expect_response(lambda answer: answer.request.method == "POST") as answer:
        customer.get_by_role("button", name="Submit ticket").click()
    request_id = answer.value.headers["x-request-id"]
    ticket = Ticket.objects.get(subject="Refund not received")

    def every_reaction_finished():
        """The submission's reactions and the follow-up's have all run."""
        chain = Event.objects.filter(correlation_id=request_id)
        deliveries = Delivery.objects.filter(event__in=chain)
        return (
            chain.filter(type="support.ticket.prioritized.v1").exists()
            and not deliveries.exclude(status__in=FINISHED).exists()
        )

    wait_for(every_reaction_finished)

    operator = login("admin").page
    operator.goto(f"/admin/support/ticket/{ticket.pk}/change/")
    operator.get_by_role("link", name="Follow its submission").click()

    expect(operator.get_by_role("heading", level=1)).to_have_text(f"Chain of request {request_id}")
    submitted = operator.locator("li[data-event-type='support.ticket.created.v1']")
    for handler in REACTIONS:
        row = submitted.locator(f":scope > .table-wrap tr[data-handler='{handler}']")
        expect(row.locator("[data-field=status]")).to_have_text("Succeeded")
        expect(row.locator("[data-label=Finished] time")).to_have_count(1)
        expect(row.locator("[data-field=duration]")).to_have_text(re.compile(r"^\d+ ms$"))
    follow_up = submitted.locator("li[data-event-type='support.ticket.prioritized.v1']")
    sla_timer = follow_up.locator("tr[data-handler='support.sla-timer']")
    expect(sla_timer.locator("[data-field=status]")).to_have_text("Succeeded")
    assert axe_violations(operator) == []
    screenshot(operator, "event-chain")
