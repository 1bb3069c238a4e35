"""``Idempotency-Key`` on the API's creating POSTs: a client that retries after losing the
answer creates one ticket or enrollment, not two.

The first request with a key, per user, runs; its answer (status and body) is kept for 24 h
and returned again, with nothing created, to a request repeating that key and body. While
the first still runs, a repeat is answered 409; the same key with another body or on another
endpoint, 422. A request that fails (an error answer or an exception) frees its key, so that
the client may correct it or try again.

Keys live in the cache (Redis, shared by every web process): ``add`` is one atomic
``SET NX``, which settles who runs first across processes, and expiry forgets keys without a
clean-up job. The cost: a key is lost if Redis loses its data, and a process that dies
between its commit and storing the answer leaves the key in flight until ``IN_FLIGHT``
passes, after which a retry creates again.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

HEADER = "Idempotency-Key"
REMEMBER = timedelta(hours=24)
# Longer than any request runs: past it, a key whose request died with its process is free.
IN_FLIGHT = timedelta(minutes=1)
MAX_KEY_LENGTH = 255

KEY_PARAMETER = OpenApiParameter(
    HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A unique value per intended creation (a UUID). Repeating the request with "
    "the same key and body within 24 h returns the first answer and creates nothing; 409 "
    "while the first is in flight; 422 if the body differs.",
)


class RequestInFlight(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed."
    default_code = "idempotency_key_in_flight"


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used for a different request."
    default_code = "idempotency_key_reused"


def idempotent_create(viewset):
    """Class decorator: the viewset's ``create`` honours ``Idempotency-Key``."""
    create = viewset.create

    @functools.wraps(create)
    def idempotent(view, request: Request, *args, **kwargs) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return create(view, request, *args, **kwargs)
        return _once(request, key, lambda: create(view, request, *args, **kwargs))

    viewset.create = extend_schema(parameters=[KEY_PARAMETER])(idempotent)
    return viewset


def _once(request: Request, key: str, run) -> Response:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        problem = f"Give 1 to {MAX_KEY_LENGTH} printable ASCII characters."
        raise ValidationError({HEADER: [problem]})
    digest = hashlib.sha256(key.encode()).hexdigest()
    cache_key = f"idempotency:{request.user.pk}:{digest}"
    fingerprint = _fingerprint(request)
    if not cache.add(cache_key, {"fingerprint": fingerprint}, IN_FLIGHT.total_seconds()):
        return _stored_answer(cache.get(cache_key), fingerprint)
    try:
        response = run()
    except BaseException:
        cache.delete(cache_key)
        raise
    if not status.is_success(response.status_code):
        cache.delete(cache_key)
        return response
    answer = {"fingerprint": fingerprint, "status": response.status_code, "data": response.data}
    cache.set(cache_key, answer, REMEMBER.total_seconds())
    return response


def _stored_answer(stored: dict | None, fingerprint: str) -> Response:
    if stored is not None and stored["fingerprint"] != fingerprint:
        raise KeyReused()
    # None: the first request failed and freed its key between our add and this read.
    if stored is None or "status" not in stored:
        raise RequestInFlight()
    return Response(
        stored["data"], status=stored["status"], headers={"Idempotent-Replayed": "true"}
    )


def _fingerprint(request: Request) -> str:
    """The endpoint and the body as parsed, so that a body re-encoded (other key order or
    spacing) is still the same request."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
