"""Scenario 5: who may open what."""

from tests.e2e.conftest import screenshot


def test_the_admin_is_for_staff_only(login, stack):
    customer = login("customer").page
    customer.goto("/admin/")
    assert "/admin/login/" in customer.url
    assert customer.get_by_text("You are authenticated as customer").is_visible()

    admin = login("admin").page
    admin.goto("/admin/events/delivery/")
    assert admin.get_by_role("heading", name="Select delivery to view").is_visible()
    screenshot(admin, "admin-deliveries")
