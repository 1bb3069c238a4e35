"""The OpenAPI document at ``/api/schema/`` tells every answer of the API, refusals included,
so that a client generated from it handles each one (the fuzz suite in ``tests/security``
holds the API to it)."""

import jsonschema
import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

from tests.clients import api_client_for
from tests.training.factories import course_with_lessons
from training import services as training

pytestmark = pytest.mark.django_db

# Every operation and the statuses it answers: its success, then each refusal its view can
# give (body or filters 400, credentials 401, permissions or CSRF 403, an id or a page 404,
# Idempotency-Key 409 and 422, a body in another media type 415, throttling 429).
ANSWERS = {
    "POST /api/v1/auth/token/": {"200", "400", "401", "403", "415", "429"},
    "GET /api/v1/courses/": {"200", "400", "401", "404"},
    "GET /api/v1/courses/{id}/": {"200", "401", "404"},
    "GET /api/v1/deliveries/{id}/": {"200", "401", "403", "404"},
    "POST /api/v1/deliveries/{id}/retry/": {"202", "401", "403", "404", "409"},
    "GET /api/v1/enrollments/": {"200", "400", "401", "404"},
    "POST /api/v1/enrollments/": {"201", "400", "401", "403", "409", "415", "422"},
    "GET /api/v1/enrollments/{id}/": {"200", "401", "404"},
    "POST /api/v1/enrollments/{id}/cancel/": {"200", "400", "401", "403", "404"},
    "POST /api/v1/enrollments/{id}/progress/": {"200", "400", "401", "403", "404", "415"},
    "GET /api/v1/event-types/": {"200", "401"},
    "GET /api/v1/events/": {"200", "400", "401", "403", "404"},
    "GET /api/v1/events/{id}/": {"200", "401", "403", "404"},
    "POST /api/v1/events/replay/": {"202", "400", "401", "403", "415"},
    "GET /api/v1/tickets/": {"200", "400", "401", "403", "404"},
    "POST /api/v1/tickets/": {"201", "400", "401", "403", "409", "415", "422"},
    "GET /api/v1/tickets/{id}/": {"200", "401", "403", "404"},
    "PUT /api/v1/tickets/{id}/": {"200", "400", "401", "403", "404", "415"},
    "PATCH /api/v1/tickets/{id}/": {"200", "400", "401", "403", "404", "415"},
    "GET /api/v1/tickets/{id}/messages/": {"200", "400", "401", "403", "404"},
    "POST /api/v1/tickets/{id}/messages/": {"201", "400", "401", "403", "404", "415"},
}


@pytest.fixture
def document(customer) -> dict:
    served = api_client_for(customer).get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    return served.json()


def response(document: dict, operation: str, status: str) -> dict:
    method, path = operation.split()
    return document["paths"][path][method.lower()]["responses"][status]


def body_schema(document: dict, operation: str, status: str) -> dict:
    """The response's JSON Schema, with the document's components to resolve references."""
    schema = response(document, operation, status)["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_every_operation_documents_each_status_it_answers(document):
    documented = {
        f"{method.upper()} {path}": set(operation["responses"])
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert documented == ANSWERS


def test_the_document_validates_with_no_warning(tmp_path):
    GENERATOR_STATS.reset()  # warnings are counted per process, not per run
    call_command("spectacular", "--validate", "--fail-on-warn", file=str(tmp_path / "api.yaml"))


def test_a_refused_body_is_documented_as_the_api_answers_it(document, customer):
    refused = api_client_for(customer).post("/api/v1/tickets/", {"subject": ""}, format="json")
    unreadable = api_client_for(customer).post(
        "/api/v1/tickets/", "{", content_type="application/json"
    )

    assert refused.status_code == unreadable.status_code == 400
    assert set(refused.json()) == {"subject", "body"}
    assert unreadable.json()["detail"].startswith("JSON parse error")
    schema = body_schema(document, "POST /api/v1/tickets/", "400")
    jsonschema.validate(refused.json(), schema)
    jsonschema.validate(unreadable.json(), schema)


def test_a_body_in_another_media_type_is_a_documented_415(document, customer):
    answer = api_client_for(customer).post(
        "/api/v1/tickets/", "subject=Hello", content_type="text/plain"
    )

    assert answer.status_code == 415
    jsonschema.validate(answer.json(), body_schema(document, "POST /api/v1/tickets/", "415"))


def test_leaving_a_course_twice_is_a_documented_400(document, customer, instructor):
    course = course_with_lessons(instructor, "Basics")
    enrollment = training.enrollment_create(learner=customer, course=course)
    client = api_client_for(customer)
    left = client.post(f"/api/v1/enrollments/{enrollment.pk}/cancel/")
    again = client.post(f"/api/v1/enrollments/{enrollment.pk}/cancel/")

    assert (left.status_code, again.status_code) == (200, 400)
    assert list(again.json()) == ["status"]
    operation = "POST /api/v1/enrollments/{id}/cancel/"
    jsonschema.validate(again.json(), body_schema(document, operation, "400"))


def test_a_refused_filter_names_the_parameter(document, customer):
    refused = api_client_for(customer).get("/api/v1/tickets/", {"status": "lost"})

    assert refused.status_code == 400
    assert list(refused.json()) == ["status"]
    jsonschema.validate(refused.json(), body_schema(document, "GET /api/v1/tickets/", "400"))


def test_a_missing_ticket_and_a_page_past_the_end_are_documented_404s(document, customer):
    client = api_client_for(customer)
    missing = client.get("/api/v1/tickets/999999/")
    past_the_end = client.get("/api/v1/tickets/", {"page": 2})

    assert missing.status_code == past_the_end.status_code == 404
    for operation, answer in [
        ("GET /api/v1/tickets/{id}/", missing),
        ("GET /api/v1/tickets/", past_the_end),
    ]:
        jsonschema.validate(answer.json(), body_schema(document, operation, "404"))


def test_an_id_the_router_cannot_match_is_a_json_404_and_pages_keep_theirs(customer):
    client = api_client_for(customer)
    api = client.get("/api/v1/courses/1.5/")
    page = client.get("/no-such-page/")

    assert api.status_code == page.status_code == 404
    assert api.json() == {"detail": "Not found."}
    assert page["Content-Type"].startswith("text/html")


def test_refusals_document_the_headers_that_come_with_them(document):
    unauthenticated = response(document, "GET /api/v1/tickets/", "401")
    throttled = response(document, "POST /api/v1/auth/token/", "429")

    assert set(unauthenticated["headers"]) == {"WWW-Authenticate"}
    assert set(throttled["headers"]) == {"Retry-After"}


def test_an_anonymous_request_gets_the_documented_challenge(document):
    answer = APIClient().get("/api/v1/tickets/")

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Token"
    jsonschema.validate(answer.json(), body_schema(document, "GET /api/v1/tickets/", "401"))


def test_a_bad_token_is_refused_even_where_none_is_needed(document):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    answer = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"})

    assert answer.status_code == 401
    jsonschema.validate(answer.json(), body_schema(document, "POST /api/v1/auth/token/", "401"))
