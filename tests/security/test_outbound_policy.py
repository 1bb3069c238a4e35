"""Operators' webhook subscriptions reach the public internet only: never the platform's own
network, neither when saved nor when sent, whatever a host name resolves to meanwhile."""

import socket

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from eventplatform.events.models import Delivery, WebhookSubscription
from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
PUBLIC_ADDRESS = "93.184.215.14"


class FakeDns:
    """Answers for the names a test gives; each lookup takes the next answer, the last one
    repeats. Every other name resolves as usual (the database, Redis)."""

    def __init__(self, resolve) -> None:
        self.resolve = resolve
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __setitem__(self, name: str, addresses: list[str]) -> None:
        self.answers[name] = [addresses]

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.resolve(host, port, *args, **kwargs)
        self.lookups.append(host)
        answers = self.answers[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


def url_errors(url: str) -> list[str]:
    """What saving a subscription to ``url`` says about the URL (model validation)."""
    try:
        WebhookSubscription(name="Hook", event_types="support.*", url=url).full_clean()
    except ValidationError as invalid:
        return invalid.message_dict.get("url", [])
    return []


def deliver_an_event(capture, task_queue) -> Delivery:
    with capture(execute=True):
        event = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 2})
    task_queue.run()
    return Delivery.objects.get(event=event, handler__startswith="webhook:")


@pytest.mark.parametrize(
    "url, refusal",
    [
        ("http://127.0.0.1:6379/", "127.0.0.1 is a loopback address."),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a cloud metadata address.",
        ),
        ("http://[::1]:6379/", "::1 is a loopback address."),
        ("http://localhost:5432/", "a loopback address."),
        ("http://127.0.0.1:8000/api/v1/tickets/", "127.0.0.1 is a loopback address."),
        ("http://2130706433:6379/", "2130706433 resolves to 127.0.0.1, a loopback address."),
        ("http://10.0.0.5/", "10.0.0.5 is a private address."),
        ("http://172.16.5.4/", "172.16.5.4 is a private address."),
        ("https://192.168.1.10/hook", "192.168.1.10 is a private address."),
        ("http://[fd12:3456::1]/", "fd12:3456::1 is a private address."),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address."),
        ("http://169.254.10.1/", "169.254.10.1 is a link-local address."),
        ("http://[fe80::1]/", "fe80::1 is a link-local address."),
        ("http://0.0.0.0:8000/", "0.0.0.0 is an unspecified address."),
        ("http://[::]/", ":: is an unspecified address."),
        ("http://224.0.0.251/", "224.0.0.251 is a multicast address."),
        ("http://[ff02::1]/", "ff02::1 is a multicast address."),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address."),
        ("http://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address."),
        (
            "http://[::ffff:127.0.0.1]:6379/",
            "::ffff:127.0.0.1 is a loopback address (127.0.0.1 inside an IPv6 address).",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            "::ffff:169.254.169.254 is a cloud metadata address "
            "(169.254.169.254 inside an IPv6 address).",
        ),
        (
            "http://[64:ff9b::a00:1]/",
            "64:ff9b::a00:1 is a private address (10.0.0.1 inside an IPv6 address).",
        ),
    ],
)
def test_a_subscription_to_the_private_network_is_refused_when_saved(url, refusal):
    [error] = [e for e in url_errors(url) if e.startswith("Webhooks cannot be sent there")]
    assert error.endswith(refusal)


@pytest.mark.parametrize(
    "url, refusal",
    [
        ("ftp://hooks.example.com/", "only http and https URLs are allowed."),
        ("file:///etc/passwd", "only http and https URLs are allowed."),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https URLs are allowed."),
        (
            "https://user:password@hooks.example.com/",
            "credentials in the URL are not allowed; the signature authenticates.",
        ),
    ],
)
def test_only_plain_http_and_https_urls_are_accepted(url, refusal):
    assert f"Webhooks cannot be sent there: {refusal}" in url_errors(url)


def test_a_public_host_is_accepted(dns):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS]
    assert url_errors("https://hooks.example.com/events?token=abc") == []


def test_a_name_with_any_private_address_is_refused(dns):
    dns["hooks.example.com"] = [PUBLIC_ADDRESS, "10.0.0.7"]
    assert url_errors("https://hooks.example.com/") == [
        "Webhooks cannot be sent there: hooks.example.com resolves to 10.0.0.7, a private address."
    ]


def test_the_platforms_own_host_is_refused(dns, settings):
    settings.ALLOWED_HOSTS = ["events.example.com"]
    dns["events.example.com"] = [PUBLIC_ADDRESS]
    assert url_errors("https://events.example.com/api/v1/tickets/") == [
        "Webhooks cannot be sent there: events.example.com is this platform's own host."
    ]


def test_the_platforms_own_host_written_with_a_final_dot_is_refused(dns, settings):
    settings.ALLOWED_HOSTS = ["events.example.com"]
    dns["events.example.com."] = [PUBLIC_ADDRESS]
    assert url_errors("https://events.example.com./api/v1/tickets/") == [
        "Webhooks cannot be sent there: events.example.com. is this platform's own host."
    ]


def test_a_name_that_does_not_resolve_is_refused_when_saved(dns):
    dns["hooks.example.com"] = []
    assert url_errors("https://hooks.example.com/") == [
        "hooks.example.com does not resolve: check the host name."
    ]


def test_the_deployer_allows_private_hosts_and_networks_explicitly(dns, settings):
    dns["crm.internal"] = ["10.0.0.7"]
    settings.OUTBOUND_URL_ALLOW = ["crm.internal", "10.8.0.0/16"]
    assert url_errors("http://crm.internal/hook") == []
    assert url_errors("http://10.8.1.2/hook") == []
    assert url_errors("http://10.9.0.1/hook") == [
        "Webhooks cannot be sent there: 10.9.0.1 is a private address."
    ]


def test_the_admin_form_says_why_a_url_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:events_webhooksubscription_add"),
        {
            "name": "Metadata",
            "event_types": "support.*",
            "url": "http://169.254.169.254/latest/meta-data/",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert (
        "Webhooks cannot be sent there: 169.254.169.254 is a cloud metadata address."
        in response.content.decode()
    )
    assert not WebhookSubscription.objects.exists()


def test_a_refused_address_at_send_time_is_a_dead_letter_without_a_call(
    http_receiver, task_queue, django_capture_on_commit_callbacks
):
    # Saved before the policy existed, or written around the admin's validation.
    WebhookSubscription.objects.create(
        name="Redis", event_types="sample.*", url=f"{http_receiver.url}?token=s3cret"
    )

    delivery = deliver_an_event(django_capture_on_commit_callbacks, task_queue)

    assert http_receiver.requests == []
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("dead", 1, None)
    assert delivery.last_error == (
        f"PermanentFailure: Refused {http_receiver.url}: 127.0.0.1 is a loopback address."
    )


def test_the_request_goes_to_the_address_that_was_checked(
    dns, settings, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    """A name that resolves to an allowed address for the check and to another for the
    connection (DNS rebinding) still reaches the checked address, under its own name."""
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1/32"]
    settings.OUTBOUND_TIMEOUT = 1
    port = http_receiver.server.server_address[1]
    dns.answers["hooks.example.com"] = [["127.0.0.1"], ["10.0.0.1"]]
    WebhookSubscription.objects.create(
        name="Rebinding", event_types="sample.*", url=f"http://hooks.example.com:{port}/hook"
    )

    delivery = deliver_an_event(django_capture_on_commit_callbacks, task_queue)

    assert delivery.status == "succeeded"
    (request,) = http_receiver.requests
    assert request.headers["host"] == f"hooks.example.com:{port}"
    assert dns.lookups == ["hooks.example.com"]


def test_an_answer_from_an_allowed_receiver_is_recorded_without_the_query_string(
    settings, http_receiver, task_queue, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_URL_ALLOW = ["127.0.0.1"]
    http_receiver.status = 500
    WebhookSubscription.objects.create(
        name="Flaky", event_types="sample.*", url=f"{http_receiver.url}?token=s3cret"
    )

    delivery = deliver_an_event(django_capture_on_commit_callbacks, task_queue)

    assert delivery.status == "failed"
    assert delivery.last_error == f"RetryLater: HTTP 500 from {http_receiver.url}: error"
    assert "s3cret" not in delivery.traceback
