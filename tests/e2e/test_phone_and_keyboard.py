"""Scenario 7: the live pages on a phone, and without a mouse.

A queue card appears and re-sorts live at phone width and is announced; a burst of tickets is
announced as one summary, not read out item by item; a customer submits a ticket and an agent
assigns, answers and sets its status with the keyboard alone, and a learner enrolls, completes a
lesson and marks a notification read the same way, the focus always visible.
"""

import re

from playwright.sync_api import expect

from support.services import message_post, ticket_create
from tests.e2e.accessibility import SCREENSHOT_PHONE, focus_outline, overflow
from tests.e2e.conftest import screenshot, user
from tests.e2e.test_support_live import wait_live
from training.models import Course

RECORD_ANNOUNCEMENTS = """() => {
  const region = document.querySelector("[data-announcer]");
  window.announced = [];
  new MutationObserver(() => window.announced.push(region.textContent))
    .observe(region, { childList: true, characterData: true, subtree: true });
}"""


def announced(page) -> list[str]:
    return page.evaluate("window.announced")


def wait_announced(page, text: str) -> None:
    page.wait_for_function("text => window.announced.some((said) => said.includes(text))", arg=text)


def test_a_queue_card_appears_and_re_sorts_live_on_a_phone(login, stack):
    ticket_create(customer=user("customer"), subject="Where can I change my avatar?", body="Hi")
    agent = login("agent", viewport=SCREENSHOT_PHONE).page
    agent.goto("/agent/queue/")
    wait_live(agent)
    agent.evaluate(RECORD_ANNOUNCEMENTS)
    cards = agent.locator("[data-queue-rows] tr[data-ticket-id]")
    expect(cards).to_have_count(1)

    outage = ticket_create(
        customer=user("customer"),
        subject="Checkout outage",
        body="The payment page is down for every customer.",
    )
    card = cards.filter(has_text="Checkout outage")
    expect(card).to_be_visible(timeout=2_000)
    expect(card.locator('[data-field="priority"]')).to_have_attribute(
        "data-value", "urgent", timeout=10_000
    )
    expect(cards.first).to_contain_text("Checkout outage")
    # Everything an agent needs shows on the card, inside the screen.
    for field in ("priority", "status", "assignee", "sla"):
        expect(card.locator(f'[data-field="{field}"]')).to_be_visible()
    expect(card.locator('[data-field="sla"]')).to_contain_text(re.compile(r"in \d|overdue"))
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= SCREENSHOT_PHONE["width"]
    assert overflow(agent) == []
    wait_announced(agent, f"New ticket {outage.reference}: Checkout outage")
    wait_announced(agent, f"{outage.reference} is now Urgent priority")
    screenshot(agent, "agent-queue-phone")

    customer = login("customer", viewport=SCREENSHOT_PHONE).page
    customer.goto(f"/tickets/{outage.pk}/")
    wait_live(customer)
    customer.evaluate(RECORD_ANNOUNCEMENTS)
    message_post(ticket=outage, author=user("agent"), body="We are on it; payments recover now.")
    expect(customer.locator("[data-messages]")).to_contain_text("payments recover now")
    wait_announced(customer, "Reply from Avery: We are on it")
    assert overflow(customer) == []
    screenshot(customer, "customer-ticket-phone")


def test_a_burst_of_tickets_is_announced_as_a_summary(login, stack):
    agent = login("agent").page
    agent.goto("/agent/queue/")
    wait_live(agent)
    agent.evaluate(RECORD_ANNOUNCEMENTS)
    customer = user("customer")
    for n in range(6):
        ticket_create(customer=customer, subject=f"Burst question {n}", body="Hello?")

    expect(agent.locator("[data-queue-rows] tr[data-ticket-id]")).to_have_count(6)
    wait_announced(agent, "updates. Latest:")
    assert len(announced(agent)) < 6, announced(agent)


def tab_to(page, target, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus, which must be visible; fail if it never does."""
    element = target.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("element => element === document.activeElement", element):
            assert focus_outline(page), "the focus is not visible"
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def keyboard_login(browser, stack, username: str):
    context = browser.new_context(base_url=stack.urls["web"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/accounts/login/")
    tab_to(page, page.locator("input[name=username]"))
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    return context, page


def test_a_customer_and_an_agent_work_a_ticket_without_the_mouse(browser, stack, demo):
    customer_context, customer = keyboard_login(browser, stack, "customer")
    agent_context, agent = keyboard_login(browser, stack, "agent")
    try:
        tab_to(customer, customer.get_by_role("link", name="New ticket").first)
        customer.keyboard.press("Enter")
        customer.wait_for_url(re.compile("/tickets/new/$"))
        tab_to(customer, customer.locator("[name=subject]"))
        customer.keyboard.type("Cannot download my invoice")
        tab_to(customer, customer.locator("[name=body]"))
        customer.keyboard.type("The download button does nothing.")
        tab_to(customer, customer.get_by_role("button", name="Submit ticket"))
        customer.keyboard.press("Enter")
        customer.wait_for_url(re.compile(r"/tickets/\d+/$"))
        wait_live(customer)
        customer.evaluate(RECORD_ANNOUNCEMENTS)

        tab_to(agent, agent.get_by_role("link", name="Queue"))
        agent.keyboard.press("Enter")
        agent.wait_for_url(re.compile("/agent/queue/$"))
        tab_to(agent, agent.get_by_role("link", name="Cannot download my invoice"))
        agent.keyboard.press("Enter")
        agent.wait_for_url(re.compile(r"/agent/tickets/\d+/$"))

        tab_to(agent, agent.get_by_role("button", name="Assign to me"))
        agent.keyboard.press("Enter")
        expect(agent.get_by_role("button", name="Unassign me")).to_be_visible()
        expect(customer.locator('[data-field="assignee"]')).to_have_text("Avery")

        tab_to(agent, agent.get_by_label("Message"))
        agent.keyboard.type("Fixed: the button works again.")
        tab_to(agent, agent.get_by_role("button", name="Send reply"))
        agent.keyboard.press("Enter")
        expect(customer.locator("[data-messages]")).to_contain_text("the button works again")
        wait_announced(customer, "Reply from Avery: Fixed")

        tab_to(agent, agent.get_by_label("Status"))
        agent.keyboard.type("Resolved")  # a closed select picks the option typed
        tab_to(agent, agent.get_by_role("button", name="Set status"))
        agent.keyboard.press("Enter")
        expect(customer.locator('[data-field="status"]')).to_have_text("Resolved")
        wait_announced(customer, "Status: Resolved")
    finally:
        customer_context.close()
        agent_context.close()


def test_a_learner_enrolls_completes_a_lesson_and_reads_a_notification_without_the_mouse(
    browser, stack, demo
):
    course = Course.objects.filter(instructor__username="instructor").order_by("pk").first()
    lesson = course.lessons.order_by("position").first()
    context, learner = keyboard_login(browser, stack, "learner")
    try:
        tab_to(learner, learner.get_by_role("link", name="Courses"))
        learner.keyboard.press("Enter")
        tab_to(learner, learner.get_by_role("link", name=course.title))
        learner.keyboard.press("Enter")
        tab_to(learner, learner.get_by_role("button", name="Enroll"))
        learner.keyboard.press("Enter")
        expect(learner.locator('[data-field="enrollment-status"]')).to_have_text("Enrolled")

        tab_to(learner, learner.get_by_role("link", name=lesson.title))
        learner.keyboard.press("Enter")
        tab_to(learner, learner.get_by_role("button", name="Mark complete"))
        learner.keyboard.press("Enter")
        # Completing a lesson leads on to the next one, the progress moved.
        expect(learner.locator('[data-field="progress-text"]')).not_to_have_text("0%")

        tab_to(learner, learner.get_by_role("link", name="My learning"))
        learner.keyboard.press("Enter")
        # The welcome notification is a reaction run by a worker; it may arrive live.
        mark_read = learner.get_by_role("button", name="Mark read").first
        expect(mark_read).to_be_visible(timeout=10_000)
        tab_to(learner, mark_read)
        learner.keyboard.press("Enter")
        expect(learner.locator("[data-notifications] .badge").first).to_have_text("Read")
    finally:
        context.close()
