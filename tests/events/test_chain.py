"""One view of a chain: every event a request caused, under its cause, with its deliveries."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test.html import Element, parse_html
from django.urls import reverse

from eventplatform.events import RetryPolicy
from eventplatform.events.chains import event_chain
from eventplatform.events.models import Event
from eventplatform.events.outbox import publish
from tests.clients import api_client_for
from tests.events.sample import WIDGET_AUDITED, WIDGET_ORDERED
from tests.factories import UserFactory
from tests.training.factories import course_with_lessons

pytestmark = pytest.mark.django_db
# The chain's events, then their deliveries.
CHAIN_QUERIES = 2


def audit_order(event: Event) -> None:
    publish(WIDGET_AUDITED, {"order_id": event.data.order_id})


def reserve_stock(event: Event) -> None:
    raise ConnectionError("stock service unreachable")


def file_audit(event: Event) -> None:
    pass


@pytest.fixture
def chain(handlers, task_queue, django_capture_on_commit_callbacks):
    """An order with two reactions, one dead; the one that succeeded publishes an audit, which
    is filed. Returns (order, audit)."""
    handlers.add(WIDGET_ORDERED, audit_order)
    handlers.add(WIDGET_ORDERED, reserve_stock, retry=RetryPolicy(delays=()))
    handlers.add(WIDGET_AUDITED, file_audit)
    with django_capture_on_commit_callbacks(execute=True):
        order = publish(WIDGET_ORDERED, {"order_id": 1, "customer_id": 1})
    with django_capture_on_commit_callbacks(execute=True):
        task_queue.run()  # the order's reactions, which publish the audit
    task_queue.run()  # the audit's
    return order, Event.objects.get(type=WIDGET_AUDITED.name)


def outline(page: bytes) -> list[str]:
    """What a chain shows: a line per event, indented under its cause, and a line per
    delivery (its handler and status), indented under its event."""
    lines: list[str] = []

    def text(node: Element) -> str:
        return "".join(c if isinstance(c, str) else text(c) for c in node.children).strip()

    def walk(node: Element | str, depth: int) -> None:
        if isinstance(node, str):
            return
        attributes = dict(node.attributes)
        if node.name == "li" and "data-event-type" in attributes:
            current = " (this event)" if attributes.get("aria-current") == "true" else ""
            lines.append("  " * depth + attributes["data-event-type"] + current)
            depth += 1
        elif node.name == "tr" and "data-handler" in attributes:
            cells = [c for c in node.children if isinstance(c, Element)]
            status = next(c for c in cells if dict(c.attributes).get("data-field") == "status")
            lines.append("  " * depth + f"{attributes['data-handler']}: {text(status)}")
        for child in node.children:
            walk(child, depth)

    walk(parse_html(page.decode()), 0)
    return lines


def durations(page: bytes) -> list[str]:
    return re.findall(r'data-field="duration">([^<]*)<', page.decode())


ORDER_CHAIN = [
    "sample.widget.ordered.v1",
    "  tests.events.test_chain.audit_order: Succeeded",
    "  tests.events.test_chain.reserve_stock: Dead letter",
    "  sample.widget.audited.v1",
    "    tests.events.test_chain.file_audit: Succeeded",
]


def test_the_chain_page_nests_each_event_under_its_cause_with_its_deliveries(chain, admin_client):
    order, _ = chain

    page = admin_client.get(reverse("event-chain", args=[order.correlation_id]))

    assert page.status_code == 200
    assert outline(page.content) == ORDER_CHAIN
    assert all(re.fullmatch(r"\d+ ms", d) for d in durations(page.content))
    assert len(durations(page.content)) == 3


def test_the_admin_page_of_an_event_shows_its_whole_chain(chain, admin_client):
    _, audit = chain

    page = admin_client.get(reverse("admin:events_event_change", args=[audit.pk]))

    assert page.status_code == 200
    assert outline(page.content) == [
        *ORDER_CHAIN[:3],
        "  sample.widget.audited.v1 (this event)",
        ORDER_CHAIN[4],
    ]


def test_the_admin_shows_deliveries_in_a_chain_only_to_those_who_may_see_them(chain, client):
    order, _ = chain
    operator = UserFactory(is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_event"))
    client.force_login(operator)

    page = client.get(reverse("admin:events_event_change", args=[order.pk]))

    assert page.status_code == 200
    assert outline(page.content) == [
        "sample.widget.ordered.v1 (this event)",
        "  sample.widget.audited.v1",
    ]


def test_the_admin_finds_the_events_of_a_request_id(chain, admin_client):
    order, audit = chain
    publish(WIDGET_ORDERED, {"order_id": 2, "customer_id": 1})  # another request's

    listed = admin_client.get(reverse("admin:events_event_changelist"), {"q": order.correlation_id})

    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [audit, order]


def test_an_event_older_than_chains_says_so(admin_client):
    event = publish(WIDGET_ORDERED, {"order_id": 2, "customer_id": 1})
    Event.objects.filter(pk=event.pk).update(correlation_id="")

    page = admin_client.get(reverse("admin:events_event_change", args=[event.pk]))

    assert page.status_code == 200
    assert b"This event is older than chains" in page.content
    assert outline(page.content) == []


def test_the_chain_page_is_for_operators_who_may_read_events_and_deliveries(chain, client):
    order, _ = chain
    url = reverse("event-chain", args=[order.correlation_id])
    reads_events = UserFactory(is_staff=True)
    reads_events.user_permissions.add(Permission.objects.get(codename="view_event"))

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 302
    client.force_login(reads_events)
    assert client.get(url).status_code == 403
    reads_events.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    assert client.get(url).status_code == 200


def test_a_chain_nobody_caused_is_not_found(admin_client):
    assert admin_client.get(reverse("event-chain", args=["no-such-request"])).status_code == 404


@pytest.mark.parametrize("reference", ["request id", "event id"])
def test_operators_find_a_chain_by_a_log_lines_request_or_event_id(chain, admin_client, reference):
    _, audit = chain
    pasted = audit.correlation_id if reference == "request id" else str(audit.id)

    found = admin_client.get(reverse("event-chains"), {"reference": f" {pasted} "})

    assert found.status_code == 302
    assert found["Location"] == reverse("event-chain", args=[audit.correlation_id])


def test_searching_for_an_id_no_event_has_says_so(admin_client):
    page = admin_client.get(reverse("event-chains"), {"reference": "no-such-request"})

    assert page.status_code == 200
    assert b"No event has this request id or event id." in page.content


def test_a_tickets_admin_page_links_to_the_chain_of_its_submission(customer, admin_client):
    submitted = api_client_for(customer).post(
        "/api/v1/tickets/", {"subject": "Hi", "body": "There"}, HTTP_X_REQUEST_ID="req-7"
    )

    page = admin_client.get(reverse("admin:support_ticket_change", args=[submitted.json()["id"]]))

    assert page.status_code == 200
    assert f'<a href="{reverse("event-chain", args=["req-7"])}">' in page.content.decode()


def test_an_enrollments_admin_page_links_to_the_chain_of_its_enrollment(
    customer, instructor, admin_client
):
    course = course_with_lessons(instructor, "Part 1")
    enrolled = api_client_for(customer).post(
        "/api/v1/enrollments/", {"course": course.pk}, HTTP_X_REQUEST_ID="req-8"
    )

    page = admin_client.get(
        reverse("admin:training_enrollment_change", args=[enrolled.json()["id"]])
    )

    assert page.status_code == 200
    assert f'<a href="{reverse("event-chain", args=["req-8"])}">' in page.content.decode()


def test_a_chain_reads_in_two_queries_however_long(chain, django_assert_num_queries):
    order, _ = chain
    publish(WIDGET_ORDERED, {"order_id": 3, "customer_id": 1})  # another chain, not read

    with django_assert_num_queries(CHAIN_QUERIES):
        (first,) = event_chain(order.correlation_id)
        deliveries = [d.handler for d in first.event.deliveries.all()]
        (audit,) = first.consequences
        filed = [d.handler for d in audit.event.deliveries.all()]

    assert len(deliveries) == 2
    assert filed == ["tests.events.test_chain.file_audit"]
