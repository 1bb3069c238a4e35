"""Outbound webhooks: an event as a signed CloudEvents request, and what its answer means.

The body is the event in CloudEvents structured JSON; the headers sign it per Standard
Webhooks (``webhook-id`` is the event id, stable across retries, so receivers can dedupe).
Answers map onto delivery outcomes: 2xx succeeded; 408, 429 and 5xx retry (honouring
``Retry-After``); 410 means the endpoint is gone; other 4xx are permanent.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook

from .envelope import CONTENT_TYPE, to_json
from .models import Event, WebhookSubscription
from .outcomes import PermanentFailure, RetryLater, Skip


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
    response = httpx.post(url, content=body, headers=headers, timeout=settings.OUTBOUND_TIMEOUT)
    raise_for_answer(response.status_code, response.headers, body=response.text, target=url)
    return response


def raise_for_answer(status: int, headers: Mapping, *, body: str, target: str) -> None:
    """Turn an HTTP answer from ``target`` into the delivery's outcome (any HTTP client)."""
    if 200 <= status < 300:
        return
    summary = f"HTTP {status} from {target}: {body[:200]}"
    if status == 410:
        raise EndpointGone(summary)
    if status in (408, 429) or status >= 500:
        raise RetryLater(summary, seconds=retry_after(headers))
    raise PermanentFailure(summary)


def retry_after(headers: Mapping) -> float:
    """Seconds the receiver asked us to wait (``Retry-After``), or 0 to use our back-off."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "")
    if isinstance(value, list):  # some clients keep repeated headers as lists
        value = value[0] if value else ""
    value = value.strip()
    if not value:
        return 0
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return 0


def deliver_to_subscription(subscription_id: int, event: Event) -> None:
    """The handler of an operator's webhook subscription; a 410 switches it off."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, active=True).first()
    if subscription is None:
        raise Skip("The webhook subscription was removed or switched off.")
    try:
        post_event(subscription.url, event, secret=subscription.secret)
    except EndpointGone as gone:
        WebhookSubscription.objects.filter(pk=subscription_id).update(
            active=False, disabled_reason=f"{timezone.now():%Y-%m-%d %H:%M} UTC: {gone}"[:300]
        )
        raise
