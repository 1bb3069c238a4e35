"""Scenarios 1 and 4: a ticket travels live between customer and agent; hostile text stays text."""

import re

from playwright.sync_api import expect

from support.services import ticket_create
from tests.e2e.conftest import screenshot, user

LIVE = re.compile("live")


def wait_live(page) -> None:
    expect(page.locator("[data-stream-status]").first).to_have_attribute("data-stream-status", LIVE)


def submit_ticket(page, subject: str, body: str) -> None:
    page.goto("/tickets/new/")
    page.fill("[name=subject]", subject)
    page.fill("[name=body]", body)
    page.get_by_role("button", name="Submit ticket").click()
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))


def test_a_ticket_appears_live_re_sorts_and_the_reply_reaches_the_customer(login, stack):
    ticket_create(
        customer=user("customer"), subject="Where can I change my avatar?", body="Just asking."
    )
    agent = login("agent").page
    agent.goto("/agent/queue/")
    wait_live(agent)
    queue_rows = agent.locator("[data-queue-rows] tr[data-ticket-id]")
    expect(queue_rows).to_have_count(1)

    customer = login("customer").page
    submit_ticket(customer, "Checkout outage", "The payment page is down for every customer.")

    outage = queue_rows.filter(has_text="Checkout outage")
    expect(outage).to_be_visible(timeout=2_000)
    # Prioritisation is a reaction run by a worker.
    expect(outage.locator('[data-field="priority"]')).to_have_attribute(
        "data-value", "urgent", timeout=10_000
    )
    expect(queue_rows.first).to_contain_text("Checkout outage")
    screenshot(agent, "agent-queue-live")

    wait_live(customer)
    outage.locator("a").first.click()
    agent.fill("[data-reply-form] [name=body]", "Only visible to agents: escalated to on-call.")
    agent.get_by_role("button", name="Add internal note").click()
    agent.fill("[data-reply-form] [name=body]", "We are on it; payments are recovering now.")
    agent.get_by_role("button", name="Send reply").click()

    messages = customer.locator("[data-messages]")
    expect(messages).to_contain_text("payments are recovering now", timeout=2_000)
    expect(messages).not_to_contain_text("escalated to on-call")
    screenshot(customer, "customer-ticket-reply-live")
    customer.reload()
    expect(customer.locator("[data-messages]")).not_to_contain_text("escalated to on-call")


HOSTILE = [
    "<script>alert('subject')</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(2)>',
    "javascript:alert(3)",
]


def test_hostile_ticket_text_is_shown_as_text_everywhere_and_never_runs(login, stack):
    agent = login("agent")
    agent.page.goto("/agent/queue/")
    wait_live(agent.page)
    customer = login("customer")
    subject = "Broken " + HOSTILE[0] + HOSTILE[1]
    body = "\n".join(HOSTILE)
    submit_ticket(customer.page, subject, body)

    row = agent.page.locator("[data-queue-rows] tr[data-ticket-id]").filter(has_text="Broken")
    expect(row).to_contain_text(HOSTILE[0], timeout=2_000)
    expect(row).to_contain_text(HOSTILE[1])
    screenshot(agent.page, "hostile-input-as-text")
    row.locator("a").first.click()
    expect(agent.page.locator("body")).to_contain_text(HOSTILE[2])
    expect(customer.page.locator("body")).to_contain_text(HOSTILE[1])
    customer.page.goto("/tickets/")
    expect(customer.page.locator("body")).to_contain_text(HOSTILE[0])

    for page in (agent, customer):
        assert page.page.locator("img[src=x], svg[onload]").count() == 0
        assert page.dialogs == [], page.dialogs
        assert page.errors == [], page.errors


def test_reconnecting_agent_misses_nothing_and_sees_nothing_twice(login, stack):
    agent = login("agent").page
    agent.goto("/agent/queue/")
    wait_live(agent)
    customer = user("customer")

    stack.stop("web")
    expect(agent.locator("[data-stream-status]").first).not_to_have_attribute(
        "data-stream-status", LIVE
    )
    for n in (1, 2, 3):
        ticket_create(customer=customer, subject=f"Question {n} while offline", body="Hello?")
    stack.start_web("web")

    wait_live(agent)
    rows = agent.locator("[data-queue-rows] tr[data-ticket-id]")
    for n in (1, 2, 3):
        expect(rows.filter(has_text=f"Question {n} while offline")).to_have_count(1)
    ticket_create(customer=customer, subject="Question 4 after reconnecting", body="Hello?")
    expect(rows.filter(has_text="Question 4 after reconnecting")).to_have_count(1)
    expect(rows).to_have_count(4)
    screenshot(agent, "agent-queue-after-reconnect")


def test_a_ticket_assigned_to_me_appears_in_my_queue_live(login, stack):
    from support.services import ticket_update

    ticket = ticket_create(customer=user("customer"), subject="Please call me", body="Thanks")
    agent = login("agent").page
    agent.goto("/agent/queue/?view=mine")
    wait_live(agent)
    rows = agent.locator("[data-queue-rows] tr[data-ticket-id]")
    expect(rows).to_have_count(0)

    ticket_update(ticket=ticket, by=user("agent"), assignee=user("agent"))
    expect(rows.filter(has_text="Please call me")).to_have_count(1)
    expect(rows.first.locator('[data-field="assignee"]')).not_to_contain_text("Unassigned")
