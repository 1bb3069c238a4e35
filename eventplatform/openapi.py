"""The OpenAPI document's account of refusals: every operation lists the errors it can
answer, with their bodies, so that a client generated from the document handles them all.

Apart from ``eventplatform.rest``: DRF imports that module (its parser) while it defines
``APIView``, and drf-spectacular's ``AutoSchema`` cannot be imported before ``APIView`` exists.
"""

from collections import defaultdict

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import authentication, permissions

from eventplatform import idempotency


def schema_component(name: str, schema: dict) -> ResolvedComponent:
    return ResolvedComponent(name, ResolvedComponent.SCHEMA, schema=schema, object=name)


# The two shapes of every refusal's body, as ``eventplatform.rest.exception_handler`` (DRF's,
# in the end) writes them: one message, or each refused field (``non_field_errors`` for the
# whole input) with its messages. No field of ours is named ``detail``, so no body fits both.
ERROR = schema_component(
    "Error",
    {
        "type": "object",
        "description": "Why the request was refused.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
        "additionalProperties": False,
    },
)
FIELD_ERRORS = schema_component(
    "FieldErrors",
    {
        "type": "object",
        "description": "Each field or parameter refused, with its problems; `non_field_errors` "
        "for problems of the input as a whole.",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "minProperties": 1,
    },
)
HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Authorization: <scheme> <key>`.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds until a request may succeed again.",
            "schema": {"type": "integer"},
        }
    },
}
# Permissions that refuse anonymous users only: the 401 covers what they refuse.
ONLY_ANONYMOUS_REFUSED = (permissions.AllowAny, permissions.IsAuthenticated)


def refused_in_this_state(description: str) -> OpenApiResponse:
    """A 400 that only the service can give, to a valid request that the object's state
    refuses; for ``@extend_schema(responses=...)``, where the view's shape cannot tell."""
    return OpenApiResponse(FIELD_ERRORS.ref, description=description)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema plus the refusals each operation can answer, read from its
    view (authentication, permissions, throttles, body, parameters, pagination), so that a
    client generated from the document knows every answer and a new view needs no listing.

    A status the view declares itself (``@extend_schema(responses=...)``) is left as declared.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:  # excluded from the document
            return None
        for component in (ERROR, FIELD_ERRORS):
            registry.register_on_missing(component)
        responses = operation["responses"]
        for status_code, reasons in sorted(self.refusals(operation).items()):
            response = self.refusal(status_code, " ".join(reasons), operation)
            responses.setdefault(str(status_code), response)
        return operation

    def refusals(self, operation: dict) -> dict[int, list[str]]:
        """Each status the operation can be refused with, and the reasons, as sentences."""
        view = self.view
        parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        pages = {p["name"] for p in self.page_parameters()}
        reasons = defaultdict(list)

        if "requestBody" in operation:
            reasons[400].append("The body is not valid, or not readable as sent.")
            reasons[415].append("The body is not sent as one of the documented media types.")
        if any(where == "query" for where, _ in parameters):
            reasons[400].append("A query parameter is not valid (a page that is no number too).")
        if ("header", idempotency.HEADER) in parameters:
            reasons[400].append(f"The {idempotency.HEADER} header is not valid.")
            reasons[409].append(idempotency.RequestInFlight.default_detail)
            reasons[422].append(idempotency.KeyReused.default_detail)

        authenticators = view.get_authenticators()
        checks = view.get_permissions()
        # DRF answers an unauthenticated request 401 only when it can send a challenge.
        unauthenticated = 401 if view.get_authenticate_header(view.request) else 403
        if any(not isinstance(check, permissions.AllowAny) for check in checks):
            reasons[unauthenticated].append("No credentials, or credentials that are not valid.")
        elif authenticators:  # credentials sent are checked even where none are needed
            reasons[unauthenticated].append("The credentials sent are not valid.")
        if any(not isinstance(check, ONLY_ANONYMOUS_REFUSED) for check in checks):
            reasons[403].append("You may not do this: `detail` says why.")
        if self.method not in permissions.SAFE_METHODS and any(
            isinstance(a, authentication.SessionAuthentication) for a in authenticators
        ):
            reasons[403].append("Signed in by session cookie, without the CSRF token.")

        if any(where == "path" for where, _ in parameters):
            reasons[404].append("Nothing you may see has this id.")
        if any(("query", name) in parameters for name in pages):
            reasons[404].append("There is no such page.")
        if view.get_throttles():
            reasons[429].append("Too many requests: `Retry-After` says when to try again.")
        return reasons

    def page_parameters(self) -> list[dict]:
        """The query parameters that choose a page, when the view paginates."""
        paginator = getattr(self.view, "paginator", None)
        return paginator.get_schema_operation_parameters(self.view) if paginator else []

    def refusal(self, status_code: int, description: str, operation: dict) -> dict:
        schema = ERROR.ref
        if status_code == 400:
            schema = FIELD_ERRORS.ref
            if "requestBody" in operation:  # a body that cannot be parsed gets one message
                schema = {"oneOf": [FIELD_ERRORS.ref, ERROR.ref]}
        response = {
            "description": description,
            "content": {media: {"schema": schema} for media in self.map_renderers("media_type")},
        }
        if headers := HEADERS.get(status_code):
            response["headers"] = headers
        return response
