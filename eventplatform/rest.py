"""What every app's API shares: how request bodies are read and how refusals are answered.

Services raise Django's ValidationError and PermissionDenied; views call them without
translating, and this handler turns them into a 400 naming each field, or a 403 with the
service's reason. Everything else goes to DRF's own handler.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, parsers
from rest_framework.views import exception_handler as drf_exception_handler

# No request body of ours nests deeper than a few levels; past this, it is an attack on the
# parser or on whatever walks the data next, not input.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than ``MAX_JSON_DEPTH`` with a 400.

    Python's decoder recurses once per level: a body nested 100,000 deep exhausts the stack
    and would otherwise surface as a 500. (The body's size is Django's limit,
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``: DRF reads JSON through ``request.body``.)
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if json_depth(data) <= MAX_JSON_DEPTH:
                return data
        raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")


def json_depth(data: object) -> int:
    """How deep ``data`` nests, walked without recursion."""
    deepest = 0
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        pending.extend((child, depth + 1) for child in value)
    return deepest


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 for a URL no route matches: under ``/api/``, JSON as from any API view, since
    an id the router cannot match (``/api/v1/courses/1.5/``) never reaches one; elsewhere,
    the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
    return defaults.page_not_found(request, exception)
