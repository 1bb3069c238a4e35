"""The REST API fuzzed from the OpenAPI document it serves at ``/api/schema/``, as a customer,
an agent, a learner and a superuser: whatever a client sends, the API never fails (5xx), and
each answer, status code, content type and body, is one the document describes, so a client
generated from it can rely on it.

Bounded and seeded: a few valid and a few invalid requests per operation, generated the same
way on every run, with no shrinking and no example database, so CI is deterministic and quick.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventplatform.wsgi import application
from tests.security.roles import World

pytestmark = pytest.mark.django_db

FUZZED_AS = ("customer", "agent", "learner", "superuser")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report the request as it was
    suppress_health_check=list(HealthCheck),
)
# Failed sign-ins are throttled per client address for an hour: fuzzing the token endpoint
# would spend the allowance that every other test in the run signs in against.
NOT_FUZZED = {"POST /api/v1/auth/token/"}


def operations() -> list[str]:
    """Every operation of the API, known when the tests are collected: one test each.

    Made without a request, the document lacks what only a signed-in request tells (the type
    of some ids), and the generator says so: only the operations are read here, so quietly.
    """
    with GENERATOR_STATS.silence():
        document = SchemaGenerator().get_schema(request=None, public=True)
    return [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
        if f"{method.upper()} {path}" not in NOT_FUZZED
    ]


OPERATIONS = operations()


def token_header(world: World, role: str) -> dict[str, str]:
    token, _ = Token.objects.get_or_create(user=world.users[role])
    return {"Authorization": f"Token {token.key}"}


@pytest.fixture
def same_connection_for_every_request() -> Iterator[None]:
    """Requests go through the real WSGI application, which closes the database connection
    after each one; the test's transaction lives on that connection, so keep it open, as
    Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="class")
def served_schema(world, django_db_blocker):
    """The OpenAPI document as ``/api/schema/`` serves it to a signed-in client."""
    with django_db_blocker.unblock():
        served = world.api_client("superuser").get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    schema = schemathesis.openapi.from_dict(served.json())
    schema.app = application  # requests go through the WSGI application, in this process
    return schema


class TestFuzzing:
    def test_every_operation_served_is_fuzzed(self, served_schema):
        served = {result.ok().label for result in served_schema.get_all_operations()}
        assert served == set(OPERATIONS) | NOT_FUZZED

    @pytest.mark.usefixtures("same_connection_for_every_request")
    @pytest.mark.parametrize("operation", OPERATIONS)
    @pytest.mark.parametrize("role", FUZZED_AS)
    def test_no_request_breaks_the_api_and_every_answer_is_documented(
        self, served_schema, world, role, operation
    ):
        api_operation = served_schema.find_operation_by_label(operation)
        requests = st.one_of(
            api_operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            api_operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        )
        headers = token_header(world, role)

        @BOUNDED
        @given(case=requests)
        def each_request(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        each_request()
