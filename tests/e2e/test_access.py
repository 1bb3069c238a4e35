"""Scenario 5: who may open what."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot

DASHBOARDS = ["/agent/queue/", "/tickets/", "/learning/", "/instructor/"]


@pytest.mark.parametrize("path", DASHBOARDS)
def test_a_logged_out_visitor_is_sent_to_login(browser, stack, demo, path):
    context = browser.new_context(base_url=stack.urls["web"])
    page = context.new_page()
    page.goto(path)
    assert page.url.endswith(f"/accounts/login/?next={path}")
    context.close()


@pytest.mark.parametrize("path", ["/agent/queue/", "/instructor/"])
def test_a_customer_opening_a_staff_dashboard_gets_403(login, path):
    customer = login("customer").page
    response = customer.goto(path)
    assert response.status == 403


def test_the_admin_is_for_staff_only(login):
    customer = login("customer").page
    customer.goto("/admin/")
    assert "/accounts/login/?next=/admin/" in customer.url
    assert customer.get_by_text("You are authenticated as customer").is_visible()

    admin = login("admin").page
    admin.goto("/admin/events/delivery/")
    expect(admin.get_by_role("heading", name=re.compile("Select delivery to"))).to_be_visible()
    screenshot(admin, "admin-deliveries")
