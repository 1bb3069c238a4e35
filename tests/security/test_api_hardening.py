"""The API under abuse: operators without the permissions, password guessing, hostile bodies,
and clients that repeat a creating POST."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from eventplatform.events.models import Delivery, Event
from support import services
from support.models import Ticket
from tests.clients import api_client_for
from tests.factories import PASSWORD, UserFactory
from tests.training.factories import CourseFactory
from training.models import Enrollment

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"


def staff_with(*codenames: str, is_staff: bool = True):
    user = UserFactory(is_staff=is_staff)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="events", codename__in=codenames)
    )
    return user


# The operator API asks for what the admin asks for the same work.
OPERATOR_REQUESTS = {
    "list events": ("get", "/api/v1/events/", None),
    "read an event": ("get", "/api/v1/events/{event}/", None),
    "read a delivery": ("get", "/api/v1/deliveries/{delivery}/", None),
    "retry a delivery": ("post", "/api/v1/deliveries/{delivery}/retry/", None),
    "replay": ("post", "/api/v1/events/replay/", {"type": "support.*", "since": "2000-01-01"}),
}


@pytest.mark.parametrize(
    ("codenames", "allowed"),
    [
        ((), set()),
        (("view_event",), {"list events"}),
        (("view_event", "view_delivery"), {"list events", "read an event", "read a delivery"}),
        (("view_delivery",), {"read a delivery"}),
        # The change permission includes the view permission, as in the admin.
        (("change_delivery",), {"read a delivery", "retry a delivery"}),
        (
            ("view_event", "change_delivery"),
            {"list events", "read an event", "read a delivery", "retry a delivery", "replay"},
        ),
    ],
)
def test_the_operator_api_asks_for_the_admins_model_permissions(codenames, allowed):
    event = Event.objects.create(type="support.ticket.created.v1", source="/support", payload={})
    delivery = Delivery.objects.create(event=event, handler="support.crm-update", status="dead")
    client = api_client_for(staff_with(*codenames))
    refused = set()
    for name, (method, path, data) in OPERATOR_REQUESTS.items():
        url = path.format(event=event.id, delivery=delivery.pk)
        if getattr(client, method)(url, data, format="json").status_code == 403:
            refused.add(name)
    assert set(OPERATOR_REQUESTS) - refused == allowed


def test_the_permissions_without_a_staff_account_open_nothing():
    client = api_client_for(staff_with("view_event", "view_delivery", is_staff=False))
    assert client.get("/api/v1/events/").status_code == 403


def test_the_schema_and_its_browsable_docs_are_for_signed_in_users(client, customer):
    assert APIClient().get("/api/schema/").status_code == 401
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
    client.force_login(customer)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


# Password guessing: the 11th attempt on one username, or the 31st from one address, within
# an hour is refused, even with the right password.


def test_guessing_one_users_password_for_a_token_is_stopped(customer):
    client = APIClient()
    for _ in range(10):
        wrong = client.post(TOKEN, {"username": "Customer", "password": "guess"}, format="json")
        assert wrong.status_code == 400
    right = client.post(TOKEN, {"username": "customer", "password": PASSWORD}, format="json")
    assert right.status_code == 429
    assert 0 < int(right["Retry-After"]) <= 3600
    assert "token" not in right.json()


def test_guessing_from_one_address_is_stopped_whatever_it_claims_to_forward(customer):
    client = APIClient()
    for n in range(30):
        client.post(
            TOKEN,
            {"username": f"user{n}", "password": "guess"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    right = client.post(
        TOKEN,
        {"username": "customer", "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert right.status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.7")
    assert elsewhere.post(TOKEN, {"username": "customer", "password": PASSWORD}).status_code == 200


def test_guessing_on_the_login_page_is_stopped_and_the_admins_login_is_that_page(customer):
    browser = Client()
    for _ in range(10):
        wrong = browser.post(LOGIN, {"username": "customer", "password": "guess"})
        assert wrong.status_code == 200
    right = browser.post(LOGIN, {"username": "customer", "password": PASSWORD})
    assert right.status_code == 429
    assert int(right["Retry-After"]) > 0
    assert b"Too many failed attempts" in right.content
    assert "_auth_user_id" not in browser.session
    admin_login = browser.get("/admin/login/?next=/admin/")
    assert admin_login["Location"] == f"{LOGIN}?next=/admin/"


def test_a_username_written_another_way_shares_its_guesses(customer):
    browser = Client()
    for _ in range(10):
        browser.post(LOGIN, {"username": "customer", "password": "guess"})
    # The login form reads full-width letters as the plain ones (NFKC), and case is no new name.
    for variant in ("\uff43\uff55\uff53\uff54\uff4f\uff4d\uff45\uff52", "CUSTOMER"):
        answer = browser.post(LOGIN, {"username": variant, "password": PASSWORD})
        assert answer.status_code == 429, variant


def test_guesses_sent_all_at_once_reach_the_password_check_ten_times_only():
    together = threading.Barrier(30)

    def guess(n: int) -> int:
        together.wait()
        try:
            return (
                APIClient().post(TOKEN, {"username": "nobody", "password": f"guess{n}"}).status_code
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(30) as pool:
        answers = sorted(pool.map(guess, range(30)))
    assert answers == [400] * 10 + [429] * 20


def test_people_who_know_their_password_are_never_slowed_down(customer):
    for _ in range(40):
        answer = APIClient().post(TOKEN, {"username": "customer", "password": PASSWORD})
        assert answer.status_code == 200


def test_logins_go_on_while_redis_is_unreachable(customer, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    wrong = APIClient().post(TOKEN, {"username": "customer", "password": "guess"})
    assert wrong.status_code == 400
    right = Client().post(LOGIN, {"username": "customer", "password": PASSWORD})
    assert right.status_code == 302


# Hostile bodies: refused with 400, never a 500, on every endpoint that reads JSON.

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "path", ["/api/v1/tickets/", "/api/v1/events/replay/", TOKEN, "/api/v1/enrollments/"]
)
def test_a_body_nested_100000_deep_is_a_400(admin_user, path):
    client = api_client_for(admin_user)
    answer = client.post(path, DEEP, content_type="application/json")
    assert answer.status_code == 400
    assert "nested deeper than 32 levels" in answer.json()["detail"]


def test_nesting_is_refused_past_32_levels_only(customer):
    client = api_client_for(customer)

    def nested(depth: int) -> str:
        return (
            '{"subject": "Hi", "body": "There", "extra": '
            + "[" * (depth - 1)
            + "]" * (depth - 1)
            + "}"
        )

    assert (
        client.post("/api/v1/tickets/", nested(32), content_type="application/json").status_code
        == 201
    )
    assert (
        client.post("/api/v1/tickets/", nested(33), content_type="application/json").status_code
        == 400
    )


# Idempotency-Key: the same key from the same user creates once.


def test_a_repeated_ticket_post_returns_the_first_answer_and_creates_nothing(customer):
    client = api_client_for(customer)
    ticket = {"subject": "Printer", "body": "It is on fire."}
    first = client.post("/api/v1/tickets/", ticket, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/tickets/", ticket, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.filter(customer=customer).count() == 1

    changed = {**ticket, "body": "It is out of paper."}
    reused = client.post("/api/v1/tickets/", changed, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422
    other_user = api_client_for(UserFactory())
    theirs = other_user.post("/api/v1/tickets/", ticket, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert theirs.status_code == 201, "keys are per user"
    without = client.post("/api/v1/tickets/", ticket, format="json")
    assert without.status_code == 201
    assert Ticket.objects.count() == 3


def test_a_refused_request_frees_its_key(customer):
    client = api_client_for(customer)
    key = {"HTTP_IDEMPOTENCY_KEY": "k-2"}
    assert client.post("/api/v1/tickets/", {"subject": ""}, format="json", **key).status_code == 400
    fixed = {"subject": "Printer", "body": "It is on fire."}
    assert client.post("/api/v1/tickets/", fixed, format="json", **key).status_code == 201


def test_a_key_must_be_a_short_printable_token(customer):
    client = api_client_for(customer)
    for key in ("", "x" * 256, "caf\u00e9"):
        answer = client.post("/api/v1/tickets/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert answer.status_code == 400 and "Idempotency-Key" in answer.json(), repr(key)


def test_a_repeated_enrollment_post_enrolls_once(instructor, customer):
    course = CourseFactory(instructor=instructor)
    client = api_client_for(customer)
    key = {"HTTP_IDEMPOTENCY_KEY": "enroll-1"}
    first = client.post("/api/v1/enrollments/", {"course": course.pk}, format="json", **key)
    again = client.post("/api/v1/enrollments/", {"course": course.pk}, format="json", **key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Enrollment.objects.filter(learner=customer).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_identical_ticket_posts_at_once_make_one_ticket(customer):
    clients = [api_client_for(customer) for _ in range(10)]
    together = threading.Barrier(len(clients))
    ticket = {"subject": "Printer", "body": "It is on fire."}

    def submit(client) -> tuple[int, int | None]:
        together.wait()
        try:
            answer = client.post(
                "/api/v1/tickets/", ticket, format="json", HTTP_IDEMPOTENCY_KEY="burst"
            )
            return answer.status_code, answer.json().get("id")
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(submit, clients))

    created = Ticket.objects.get(customer=customer)
    assert {status for status, _ in answers} <= {201, 409}
    assert {pk for status, pk in answers if status == 201} == {created.pk}


@pytest.mark.django_db(transaction=True)
def test_a_repeat_while_the_first_is_in_flight_gets_409(customer, monkeypatch):
    arrived, release = threading.Event(), threading.Event()
    ticket_create = services.ticket_create

    def slow_ticket_create(**fields):
        arrived.set()
        release.wait(10)
        return ticket_create(**fields)

    monkeypatch.setattr(services, "ticket_create", slow_ticket_create)
    ticket = {"subject": "Printer", "body": "It is on fire."}

    def submit() -> int:
        try:
            client = api_client_for(customer)
            return client.post(
                "/api/v1/tickets/", ticket, format="json", HTTP_IDEMPOTENCY_KEY="slow"
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(submit)
        assert arrived.wait(10)
        assert submit() == 409
        release.set()
        assert first.result() == 201
    assert submit() == 201
    assert Ticket.objects.filter(customer=customer).count() == 1


def test_someone_signed_in_sent_to_log_in_is_told_why(client, customer):
    client.force_login(customer)
    page = client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0].startswith(f"{LOGIN}?next=")
    assert b"You are authenticated as customer, but are not authorized" in page.content
