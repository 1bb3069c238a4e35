"""Log records that say which request and which event they are about.

Every line carries ``request=<correlation id>`` (from the ``X-Request-ID`` header when it is a
safe token, else a new one; echoed back in the response) and ``event=<event id>`` when the code
logging it passes one. Events record the same correlation id, and a worker delivering an event
takes it on, so one grep follows a request through its events and their deliveries.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

# The request, or the delivery of an event, that the running code works for; empty outside both.
correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")
HEADER = "X-Request-ID"
# A caller's id is written into every log line as ``request=<id>``: anything but a plain token
# (a space, "=", a newline) could forge the fields that follow it. Anchored, so that validators
# that search (Django's, DRF's) hold a value to it whole.
SAFE_REQUEST_ID = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get() or "-"
        if not hasattr(record, "event_id"):
            record.event_id = "-"
        return True


class CorrelationIdMiddleware:
    """Take the caller's request id (a load balancer's) when it is a safe token, or make one;
    return it as a header.

    It runs in whichever mode the rest of the chain runs: a synchronous middleware under ASGI
    would put every request through an extra hop from the event loop to a thread and back.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self._acall(request)
        value = _request_id(request)
        token = correlation_id.set(value)
        try:
            response = self.get_response(request)
        finally:
            correlation_id.reset(token)
        response[HEADER] = value
        return response

    async def _acall(self, request):
        value = _request_id(request)
        token = correlation_id.set(value)
        try:
            response = await self.get_response(request)
        finally:
            correlation_id.reset(token)
        response[HEADER] = value
        return response


def _request_id(request) -> str:
    incoming = request.headers.get(HEADER, "")
    return incoming if SAFE_REQUEST_ID.fullmatch(incoming) else new_correlation_id()
