"""Who may list, read, create and change what: every endpoint, page and admin entry, per role.

Each cell is one test whose id reads as the rule it holds, e.g.
``other_customer-GET-/api/v1/tickets/{customer_ticket}/-404``. The API answers an anonymous
request 401 (token authentication challenges it) and a signed-in user who may not act 403;
an object that exists but is not the user's is a 404, so its existence is not revealed.
Pages send an anonymous visitor to sign in (``login``). The operator API, the event health
page and the admin ask for the Django model permissions the admin uses, so a staff member
without them is refused (403); a superuser holds every permission. Roles are group
memberships: a superuser is no agent, learner or instructor, and sees what any user sees.
"""

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib import admin
from django.test import override_settings
from django.urls import URLResolver, get_resolver, resolve, reverse

from eventplatform.urls import ANYMAIL_INBOUND_WEBHOOKS
from support import services as support
from tests.factories import PASSWORD
from tests.security.roles import ANONYMOUS, FAST_HASHERS, ROLES, SIGNED_IN, World, create_cast
from tests.streams import stream_socket
from tests.training.factories import course_with_lessons
from training import services as training

pytestmark = pytest.mark.django_db

LOGIN = "login"  # a redirect to a sign-in page (the site's or the admin's)


def api(signed_in: int, **only: int) -> dict[str, int | str]:
    """Every signed-in role gets ``signed_in`` unless named; anonymous requests 401."""
    return {ANONYMOUS: 401} | dict.fromkeys(SIGNED_IN, signed_in) | only


def page(signed_in: int | str, **only: int | str) -> dict[str, int | str]:
    """Every signed-in role gets ``signed_in`` unless named; anonymous visitors sign in first."""
    return {ANONYMOUS: LOGIN} | dict.fromkeys(SIGNED_IN, signed_in) | only


def everyone(status: int | str) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, status)


# Only staff reach the admin: anyone else, signed in or not, is shown the admin's sign-in.
NOT_STAFF = dict.fromkeys(
    [role for role in ROLES if role not in ("staff", "operator", "superuser")], LOGIN
)


@dataclass(frozen=True)
class Row:
    """One request, and what each role gets for it. ``{name}`` in the path or the data is the
    id of that object of the world (see ``tests/security/roles.py``)."""

    method: str
    path: str
    expect: dict[str, int | str]
    data: dict = field(default_factory=dict)

    def url(self, world: World) -> str:
        return self.path.format(**world.ids)

    def body(self, world: World) -> dict:
        return {
            key: world.ids[value[1:-1]] if isinstance(value, str) and value[:1] == "{" else value
            for key, value in self.data.items()
        }


API_ROWS = [
    Row("GET", "/api/v1/", api(200)),
    Row(
        "POST", "/api/v1/auth/token/", everyone(200), {"username": "customer", "password": PASSWORD}
    ),
    Row("GET", "/api/v1/event-types/", api(200)),
    Row("GET", "/api/schema/", api(200)),
    # Tickets: customers their own; agents every ticket, and only agents change one. A
    # non-agent's change is refused before any ticket is looked up, so 403 reveals nothing.
    Row("GET", "/api/v1/tickets/", api(200)),
    Row("POST", "/api/v1/tickets/", api(201), {"subject": "Cannot sign in", "body": "Since 9:00."}),
    Row("GET", "/api/v1/tickets/{customer_ticket}/", api(404, customer=200, agent=200)),
    Row("PATCH", "/api/v1/tickets/{customer_ticket}/", api(403, agent=200), {"status": "pending"}),
    Row("GET", "/api/v1/tickets/{customer_ticket}/messages/", api(404, customer=200, agent=200)),
    Row(
        "POST",
        "/api/v1/tickets/{customer_ticket}/messages/",
        api(404, customer=201, agent=201),
        {"body": "Any news?"},
    ),
    Row(
        "POST",
        "/api/v1/tickets/{customer_ticket}/messages/",
        api(404, customer=403, agent=201),
        {"body": "Note to self", "internal": True},
    ),
    # Courses: published ones for everyone, drafts for their instructor; nobody writes here.
    Row("GET", "/api/v1/courses/", api(200)),
    Row("POST", "/api/v1/courses/", api(405), {"title": "Mine now"}),
    Row("GET", "/api/v1/courses/{course}/", api(200)),
    Row("GET", "/api/v1/courses/{draft}/", api(404, instructor=200)),
    # Enrollments: learners their own, instructors those in their courses (read only).
    Row("GET", "/api/v1/enrollments/", api(200)),
    Row(
        "POST", "/api/v1/enrollments/", api(201, other_instructor=400), {"course": "{open_course}"}
    ),
    Row("GET", "/api/v1/enrollments/{enrollment}/", api(404, learner=200, instructor=200)),
    Row(
        "POST",
        "/api/v1/enrollments/{enrollment}/progress/",
        api(404, learner=200, instructor=403),
        {"lesson": "{lesson}"},
    ),
    Row("POST", "/api/v1/enrollments/{enrollment}/cancel/", api(404, learner=200, instructor=403)),
    # The operator API: events.view_event, events.view_delivery, events.change_delivery.
    Row("GET", "/api/v1/events/", api(403, operator=200, superuser=200)),
    Row("GET", "/api/v1/events/{event}/", api(403, operator=200, superuser=200)),
    Row(
        "POST",
        "/api/v1/events/replay/",
        api(403, operator=202, superuser=202),
        {"type": "support.*", "since": "2000-01-01T00:00:00Z"},
    ),
    Row("GET", "/api/v1/deliveries/{delivery}/", api(403, operator=200, superuser=200)),
    Row("POST", "/api/v1/deliveries/{delivery}/retry/", api(403, operator=202, superuser=202)),
]

PAGE_ROWS = [
    Row("GET", "/", everyone(200)),
    Row("GET", "/favicon.ico", everyone(301)),
    Row("GET", "/accounts/login/", everyone(200)),
    Row("POST", "/accounts/logout/", everyone(302)),
    Row("GET", "/healthz", everyone(200)),
    Row("GET", "/api/docs/", page(200)),
    # Support: customers see their own tickets; an agent opening one is sent to the agent view.
    Row("GET", "/tickets/", page(200)),
    Row("GET", "/tickets/new/", page(200)),
    Row("GET", "/tickets/{customer_ticket}/", page(404, customer=200, agent=302)),
    Row(
        "POST", "/tickets/{customer_ticket}/reply/", page(404, customer=302), {"body": "Any news?"}
    ),
    Row("GET", "/agent/queue/", page(403, agent=200)),
    Row("GET", "/agent/tickets/{customer_ticket}/", page(403, agent=200)),
    Row(
        "POST",
        "/agent/tickets/{customer_ticket}/messages/",
        page(403, agent=302),
        {"body": "Checked the logs.", "kind": "note"},
    ),
    Row(
        "POST",
        "/agent/tickets/{customer_ticket}/update/",
        page(403, agent=302),
        {"status": "pending"},
    ),
    # Training: the catalog is public; lessons are for the enrolled and their instructor.
    Row("GET", "/courses/", everyone(200)),
    Row("GET", "/courses/{course}/", everyone(200)),
    Row("GET", "/courses/{draft}/", everyone(404) | {"instructor": 200}),
    Row("POST", "/courses/{draft}/enroll/", page(404, instructor=302)),
    Row("POST", "/courses/{course}/leave/", page(404, learner=302)),
    Row("GET", "/courses/{course}/lessons/{lesson}/", page(302, learner=200, instructor=200)),
    Row("POST", "/courses/{course}/lessons/{lesson}/complete/", page(302)),
    Row("GET", "/learning/", page(200)),
    Row("GET", "/instructor/", page(403, instructor=200, other_instructor=200)),
    Row(
        "POST",
        "/instructor/preferences/",
        page(403, instructor=302, other_instructor=302),
        {"email_instructor_updates": "on"},
    ),
    Row("POST", "/notifications/{notification}/read/", page(404, learner=302)),
    # A message's files: whoever may read the message; to anyone else they do not exist.
    Row("GET", "/attachments/{reply_file}/", page(404, customer=200, agent=200)),
    Row("GET", "/attachments/{note_file}/", page(404, agent=200)),
    # Operators: the event health page reads deliveries, as the admin's list of them does.
    Row("GET", "/events/health/", NOT_STAFF | {"staff": 403, "operator": 200, "superuser": 200}),
    Row("GET", "/events/chains/", NOT_STAFF | {"staff": 403, "operator": 200, "superuser": 200}),
    Row(
        "GET",
        "/events/chains/{chain}/",
        NOT_STAFF | {"staff": 403, "operator": 200, "superuser": 200},
    ),
    Row("GET", "/admin/login/", everyone(LOGIN)),  # one sign-in page for the site and the admin
    Row("GET", "/admin/", NOT_STAFF | dict.fromkeys(["staff", "operator", "superuser"], 200)),
]

# Every model in the admin: whether a superuser may add one by hand. Records the platform
# writes itself (the outbox, task results, notifications, analytics) have no add page.
ADMIN_MODELS = {
    "auth.Group": True,
    "auth.User": True,
    "django_q.Schedule": True,
    "django_q.Success": False,
    "django_q.Failure": False,
    "events.Event": False,
    "events.Delivery": False,
    "events.WebhookSubscription": True,
    "events.ApiToken": False,
    "support.Ticket": True,
    "support.PrioritisationRule": True,
    "support.SlaTarget": True,
    "support.CustomerProfile": True,
    "support.InboundMail": False,
    "training.Course": True,
    "training.Enrollment": True,
    "training.Notification": False,
    "training.NotificationPreference": True,
    "training.DailyCourseStats": False,
    "training.Activity": False,
}
OPERATOR_SEES = {"events.Event", "events.Delivery"}


def admin_rows() -> Iterator[Row]:
    for label, superuser_adds in ADMIN_MODELS.items():
        app_label, model = label.lower().split(".")
        changelist = NOT_STAFF | {
            "staff": 403,
            "operator": 200 if label in OPERATOR_SEES else 403,
            "superuser": 200,
        }
        add = NOT_STAFF | {
            "staff": 403,
            "operator": 403,
            "superuser": 200 if superuser_adds else 403,
        }
        yield Row("GET", f"/admin/{app_label}/{model}/", changelist)
        yield Row("GET", f"/admin/{app_label}/{model}/add/", add)


ADMIN_ROWS = list(admin_rows())

# Routes with no rows, and why.
NOT_IN_THE_MATRIX = {
    "readyz": "a load balancer's probe, open to all: it answers with the platform's readiness",
    "metrics": "guarded by its bearer token, not a role: test_metrics_need_their_bearer_token",
    **dict.fromkeys(
        (f"anymail:{route.name}" for route in ANYMAIL_INBOUND_WEBHOOKS),
        "an email provider's inbound webhook, guarded by the provider's credentials, not a role: "
        "test_a_webhook_without_the_providers_credentials_stores_nothing",
    ),
}


def cells(rows: list[Row]) -> list:
    return [
        pytest.param(
            row, role, row.expect[role], id=f"{role}-{row.method}-{row.path}-{row.expect[role]}"
        )
        for row in rows
        for role in ROLES
    ]


def request_as(world: World, row: Row, role: str, *, api_client: bool):
    client = world.api_client(role) if api_client else world.browser(role)
    send = getattr(client, row.method.lower())
    if api_client:
        return send(row.url(world), row.body(world), format="json")
    return send(row.url(world), row.body(world))


def assert_answer(response, expected: int | str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, response.content[:300]
        assert urlsplit(response["Location"]).path in (reverse("login"), reverse("admin:login"))
    else:
        assert response.status_code == expected, response.content[:300]


class TestEachCell:
    """One request per test, against one world (class-scoped: see tests/security/conftest.py)."""

    @pytest.mark.parametrize(("row", "role", "expected"), cells(API_ROWS))
    def test_api(self, world, row, role, expected):
        assert_answer(request_as(world, row, role, api_client=True), expected)

    @pytest.mark.parametrize(("row", "role", "expected"), cells(PAGE_ROWS + ADMIN_ROWS))
    def test_page(self, world, row, role, expected):
        assert_answer(request_as(world, row, role, api_client=False), expected)


PUBLISHED = frozenset({"course", "other_course", "open_course"})

# What each role finds in a list: the same rules, seen from the list's side.
LISTS = {
    "/api/v1/tickets/": {
        "customer": {"customer_ticket"},
        "other_customer": {"other_customer_ticket"},
        "agent": {"customer_ticket", "other_customer_ticket"},
    },
    "/api/v1/enrollments/": {
        "learner": {"enrollment"},
        "other_learner": {"other_enrollment"},
        "instructor": {"enrollment"},
        "other_instructor": {"other_enrollment"},
    },
    "/api/v1/courses/": {role: PUBLISHED for role in SIGNED_IN}
    | {"instructor": PUBLISHED | {"draft"}},
}


class TestWhatListsHold:
    @pytest.mark.parametrize(
        ("path", "role"),
        [pytest.param(path, role, id=f"{role}-{path}") for path in LISTS for role in SIGNED_IN],
    )
    def test_a_list_holds_only_what_the_role_may_see(self, world, path, role):
        response = world.api_client(role).get(path)
        assert response.status_code == 200
        listed = {item["id"] for item in response.json()["results"]}
        assert listed == {world.ids[name] for name in LISTS[path].get(role, ())}

    @pytest.mark.parametrize(
        ("role", "visible"),
        [
            ("customer", ["Looking into it."]),
            ("agent", ["Looking into it.", "Known bug, see #42."]),
        ],
    )
    def test_internal_notes_are_listed_for_agents_only(self, world, role, visible):
        path = "/api/v1/tickets/{customer_ticket}/messages/".format(**world.ids)
        messages = world.api_client(role).get(path).json()["results"]
        assert [message["body"] for message in messages] == visible


@override_settings(METRICS_TOKEN="scrape-me")
def test_metrics_need_their_bearer_token(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess").status_code == 401
    answered = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    assert answered.status_code == 200
    assert b"eventplatform_deliveries" in answered.content


def route_names(resolver: URLResolver, namespace: str = "", prefix: str = "") -> Iterator[str]:
    """Each route's name (its path where it has none), DRF's ``.json`` twins left out."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":  # covered model by model, below
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from route_names(pattern, inner, route)
        elif "format>" not in route:
            yield f"{namespace}{pattern.name}" if pattern.name else route


def route_name(path: str) -> str:
    match = resolve(re.sub(r"{\w+}", "1", path))
    return match.view_name if match.url_name else match.route


def test_every_route_has_rows_so_a_new_endpoint_needs_them():
    covered = {route_name(row.path) for row in API_ROWS + PAGE_ROWS}
    unlisted = set(route_names(get_resolver())) - covered - set(NOT_IN_THE_MATRIX)
    assert not unlisted, f"routes without rows in the authorization matrix: {sorted(unlisted)}"


def test_every_admin_model_has_rows_so_a_new_one_needs_them():
    registered = {model._meta.label for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS)


# --- the live stream ------------------------------------------------------------------------


@database_sync_to_async
def cast_for_the_stream() -> dict:
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        return create_cast()


@database_sync_to_async
def a_day_on_the_platform(users: dict) -> dict[tuple[str, int], str]:
    """Two customers' tickets, an agent's note and reply, two learners in two instructors'
    courses; returns the name of each ticket and enrollment, by kind and id."""
    mine = support.ticket_create(customer=users["customer"], subject="Mine", body="Help")
    theirs = support.ticket_create(customer=users["other_customer"], subject="Theirs", body="?")
    support.message_post(ticket=mine, author=users["agent"], body="VIP customer", internal=True)
    support.message_post(ticket=mine, author=users["agent"], body="On it!")
    names = {("ticket_id", mine.pk): "mine", ("ticket_id", theirs.pk): "theirs"}
    for learner, instructor in (("learner", "instructor"), ("other_learner", "other_instructor")):
        course = course_with_lessons(users[instructor], "Only lesson")
        enrollment = training.enrollment_create(learner=users[learner], course=course)
        names["enrollment_id", enrollment.pk] = f"{learner}'s enrollment"
    return names


# What each role's socket receives of that day, in order: its own tickets' public events, or
# every ticket's and the internal notes for agents; its enrollments, or its courses' for an
# instructor. Staff and superusers hold no audience of their own.
STREAM = {
    "customer": ["ticket.created mine", "ticket.message_posted mine"],
    "other_customer": ["ticket.created theirs"],
    "agent": [
        "ticket.created mine",
        "ticket.created theirs",
        "ticket.note_added mine",
        "ticket.message_posted mine",
    ],
    "learner": ["enrollment.created learner's enrollment"],
    "other_learner": ["enrollment.created other_learner's enrollment"],
    "instructor": ["enrollment.created learner's enrollment"],
    "other_instructor": ["enrollment.created other_learner's enrollment"],
    "staff": [],
    "operator": [],
    "superuser": [],
}


async def received(communicator: WebsocketCommunicator, names: dict) -> list[str]:
    """What a socket got until it went quiet, each event as ``<entity.verb> <what>``."""
    seen = []
    while not await communicator.receive_nothing(timeout=0.5):
        event = json.loads(await communicator.receive_from())
        kind = event["type"].split(".", 1)[1].rsplit(".v", 1)[0]
        about = next(
            (key, event["data"][key])
            for key in ("ticket_id", "enrollment_id")
            if key in event["data"]
        )
        seen.append(f"{kind} {names.get(about, about)}")
    await communicator.disconnect()
    return seen


@pytest.mark.django_db(transaction=True)
async def test_each_role_receives_the_events_of_its_audience_and_no_other():
    users = await cast_for_the_stream()
    sockets = {role: await stream_socket(user) for role, user in users.items()}
    names = await a_day_on_the_platform(users)
    seen = await asyncio.gather(*(received(socket, names) for socket in sockets.values()))
    assert dict(zip(sockets, seen, strict=True)) == STREAM
