"""The event health page follows the platform live: a delivery that dies shows up as a dead
letter, announced once, without a reload."""

from playwright.sync_api import expect

from support.services import ticket_create
from tests.e2e.accessibility import PHONE
from tests.e2e.conftest import CRM_SECRET, user


def test_a_dead_letter_appears_on_the_health_page_without_a_reload(login, crm_receiver, settings):
    # The ticket is submitted from this process: it reaches the CRM as the stack's would.
    settings.CRM_WEBHOOK_URL, settings.CRM_WEBHOOK_SECRET = crm_receiver.url, CRM_SECRET
    page = login("admin", viewport=PHONE).page
    page.goto("/events/health/")
    expect(page.locator("[data-stream-status]")).to_have_attribute("data-stream-status", "live")
    page.evaluate("window.notReloaded = true")

    crm_receiver.status = 400  # refused for good: the CRM update is a dead letter at once
    try:
        ticket_create(customer=user("customer"), subject="Invoice missing", body="May's.")
        expect(page.locator('[data-field="dead-letters"]')).to_have_text("1", timeout=20_000)
    finally:
        crm_receiver.status = 200
    crm = page.locator("[data-health] tr[data-handler='support.crm-update']")
    expect(crm.locator("td[data-label='Dead']")).to_have_text("1")
    expect(page.get_by_role("link", name="Inspect and retry them")).to_be_visible()
    expect(page.locator("[data-announcer]")).to_contain_text("1 new dead letter, 1 in all")
    assert page.evaluate("window.notReloaded") is True
