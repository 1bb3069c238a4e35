"""Outbound webhooks: an event as a signed CloudEvents request, and what its answer means.

The body is the event in CloudEvents structured JSON; the headers sign it per Standard
Webhooks (``webhook-id`` is the event id, stable across retries, so receivers can dedupe).
Answers map onto delivery outcomes: 2xx succeeded; 408, 429 and 5xx retry (honouring
``Retry-After``); 410 means the endpoint is gone; other 4xx are permanent.
"""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks import Webhook

from .delivery import PermanentFailure, RetryLater
from .envelope import CONTENT_TYPE, to_json
from .models import Event

TIMEOUT_SECONDS = 15


class EndpointGone(PermanentFailure):
    """HTTP 410: the receiver asks never to be called again."""


def signed_headers(secret: str, message_id: str, body: str, at: datetime | None = None) -> dict:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def post_event(url: str, event: Event, *, secret: str) -> httpx.Response:
    """POST ``event`` to ``url``; raise what the delivery should make of a failure."""
    body = to_json(event).decode()
    headers = {"content-type": CONTENT_TYPE, **signed_headers(secret, str(event.id), body)}
    response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    raise_for_delivery(response)
    return response


def raise_for_delivery(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    summary = f"HTTP {status} from {response.request.url}: {response.text[:200]}"
    if status == 410:
        raise EndpointGone(summary)
    if status in (408, 429) or status >= 500:
        raise RetryLater(summary, seconds=retry_after(response))
    raise PermanentFailure(summary)


def retry_after(response: httpx.Response) -> float:
    """Seconds the receiver asked us to wait (``Retry-After``), or 0 to use our back-off."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return 0
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return 0
