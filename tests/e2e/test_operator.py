"""Scenario 6: an operator finds a failed delivery, retries it once the receiver is back."""

import re

from playwright.sync_api import expect

from eventplatform.events.models import Delivery
from support.services import ticket_create
from tests.e2e.conftest import CRM_SECRET, screenshot, user
from tests.stack import wait_for


def test_an_operator_retries_a_failed_crm_delivery_after_the_receiver_recovers(
    login, stack, crm_receiver, settings
):
    # The ticket is created here, in the test's process: it publishes as the stack does.
    settings.CRM_WEBHOOK_URL, settings.CRM_WEBHOOK_SECRET = crm_receiver.url, CRM_SECRET
    crm_receiver.status = 503
    ticket = ticket_create(customer=user("customer"), subject="Invoice missing", body="May's.")

    def crm_delivery_failed():
        return Delivery.objects.filter(
            event__type="support.ticket.created.v1",
            event__payload__ticket_id=ticket.pk,
            handler__contains="crm",
            status__in=[Delivery.Status.FAILED, Delivery.Status.DEAD],
        ).first()

    failed = wait_for(crm_delivery_failed)

    admin = login("admin").page
    admin.goto("/admin/events/delivery/?status__exact=failed")
    row = admin.locator("#result_list tbody tr").filter(has_text="crm")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Failed (retry scheduled)")
    row.locator("a").first.click()
    expect(admin.locator("body")).to_contain_text("HTTP 503")
    admin.go_back()
    row.locator("input[name=_selected_action]").check()
    admin.select_option("select[name=action]", "retry_selected")
    # The receiver is back only now: were it back sooner, the delivery's own retry (5 s after
    # its failure) could succeed while the operator reads it, and leave nothing to retry.
    crm_receiver.status = 200
    admin.get_by_role("button", name=re.compile("Go|Run")).click()
    expect(admin.locator(".messagelist")).to_contain_text("1 deliveries queued")

    def retried():
        failed.refresh_from_db()
        return failed.status == Delivery.Status.SUCCEEDED

    wait_for(retried)
    admin.goto(f"/admin/events/delivery/{failed.pk}/change/")
    expect(admin.locator("body")).to_contain_text("Succeeded")
    screenshot(admin, "admin-delivery-retried")

    admin.goto("/events/health/")
    crm = admin.locator("[data-health] tr[data-handler='support.crm-update']")
    expect(crm).to_contain_text("100%")  # its one run that finished, succeeded on retry
    screenshot(admin, "event-health")
