"""Secrets are shown once and masked after: webhook signing secrets and API tokens in the
admin, and the tokens receivers put in their webhook URLs in the logs."""

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from eventplatform.events.models import WebhookSubscription
from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_ORDERED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ENTERED_SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVzIQ=="


def staff_client(*permissions: str) -> Client:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def subscription(settings):
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    return WebhookSubscription.objects.create(
        name="Warehouse", event_types="sample.*", url="http://127.0.0.1:9/hook"
    )


def masked(secret: str) -> str:
    return f"whsec_…{secret[-4:]}"


def test_view_only_staff_see_the_secret_masked(subscription):
    client = staff_client("view_webhooksubscription")

    listing = client.get(reverse("admin:events_webhooksubscription_changelist"))
    page = client.get(reverse("admin:events_webhooksubscription_change", args=[subscription.pk]))

    assert (listing.status_code, page.status_code) == (200, 200)
    assert subscription.secret not in listing.content.decode()
    assert subscription.secret not in page.content.decode()
    assert masked(subscription.secret) in page.content.decode()


def test_a_generated_secret_is_shown_once_after_saving_then_masked(admin_client, settings):
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    added = admin_client.post(
        reverse("admin:events_webhooksubscription_add"),
        {"name": "Warehouse", "event_types": "sample.*", "url": "http://127.0.0.1:9/hook"},
        follow=True,
    )
    subscription = WebhookSubscription.objects.get()
    assert added.status_code == 200
    assert f"The signing secret of “Warehouse” is {subscription.secret}" in added.content.decode()

    page = admin_client.get(
        reverse("admin:events_webhooksubscription_change", args=[subscription.pk])
    )
    assert subscription.secret not in page.content.decode()
    assert masked(subscription.secret) in page.content.decode()
    assert not any(
        subscription.secret in entry.change_message + entry.object_repr
        for entry in LogEntry.objects.all()
    ), "the admin's history keeps no secret"


def test_an_operator_enters_a_new_secret_which_is_checked(admin_client, subscription):
    change = reverse("admin:events_webhooksubscription_change", args=[subscription.pk])
    form = {
        "name": subscription.name,
        "event_types": subscription.event_types,
        "url": subscription.url,
        "active": "on",
    }

    refused = admin_client.post(change, {**form, "new_secret": "whsec_c2hvcnQ="})
    assert refused.status_code == 200
    assert "Enter a Standard Webhooks secret" in refused.content.decode()

    replaced = admin_client.post(change, {**form, "new_secret": ENTERED_SECRET}, follow=True)
    assert replaced.status_code == 200
    assert ENTERED_SECRET in replaced.content.decode()
    subscription.refresh_from_db()
    assert subscription.secret == ENTERED_SECRET


def test_api_tokens_are_listed_by_owner_with_masked_keys(admin_client):
    token = Token.objects.create(user=UserFactory(username="integration"))

    listing = admin_client.get(reverse("admin:events_apitoken_changelist"))
    page = admin_client.get(reverse("admin:events_apitoken_change", args=[token.user_id]))

    assert (listing.status_code, page.status_code) == (200, 200)
    for content in (listing.content.decode(), page.content.decode()):
        assert token.key not in content
        assert f"…{token.key[-4:]}" in content
        assert "integration" in content
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404


def test_a_superuser_revokes_a_token_and_other_staff_cannot(admin_client):
    token = Token.objects.create(user=UserFactory(username="integration"))
    delete = reverse("admin:events_apitoken_delete", args=[token.user_id])

    staff = staff_client("view_apitoken", "delete_apitoken", "view_tokenproxy", "delete_token")
    assert staff.post(delete, {"post": "yes"}).status_code == 403

    confirmation = admin_client.get(delete)
    assert token.key not in confirmation.content.decode()
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Token.objects.exists()
    assert not any(token.key in entry.object_repr for entry in LogEntry.objects.all())


def test_a_delivery_logs_no_token_from_the_webhook_url(
    subscription, http_receiver, task_queue, django_capture_on_commit_callbacks, caplog
):
    subscription.url = f"{http_receiver.url}?token=s3cret"
    subscription.save()
    caplog.set_level(logging.DEBUG)

    with django_capture_on_commit_callbacks(execute=True):
        publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 2})
    task_queue.run()

    assert http_receiver.requests[0].path == "/hook?token=s3cret"
    assert "s3cret" not in caplog.text
