"""Outbound webhooks: an event as a signed CloudEvents request, and what its answer means.

The body is the event in CloudEvents structured JSON; the headers sign it per Standard
Webhooks (``webhook-id`` is the event id, stable across retries, so receivers can dedupe).
Answers map onto delivery outcomes: 2xx succeeded; 408, 429 and 5xx retry (honouring
``Retry-After``); 410 means the endpoint is gone; other 4xx are permanent, and so are 3xx:
redirects are not followed. Errors name the endpoint without its query string, which often
holds the receiver's token.

Operators' subscriptions are held to the outbound URL policy (``urlpolicy``) on every send;
the URLs the deployer configures (the CRM's) are not. A subscription that fails
``EVENTS["WEBHOOK_PAUSE_AFTER"]`` attempts in a row is paused until an operator reactivates it.

Every HTTP answer a handler reads through ``raise_for_answer`` is noted for the runner, which
keeps its status and the start of its body with the attempt (``answers_noted``).
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from standardwebhooks import Webhook

from .catalog import EventType, Payload
from .conf import event_setting
from .envelope import CONTENT_TYPE, to_json
from .models import WEBHOOK_TEST_EVENT_TYPE, Event, WebhookSubscription
from .outcomes import PermanentFailure, RetryLater, Skip
from .settings_cache import settings_changed
from .urlpolicy import RefusedURL, checked_address, endpoint

# How much of a receiver's answer errors and attempts keep.
EXCERPT_LENGTH = 200


class WebhookTested(Payload):
    subscription_id: int
    """The webhook subscription the test was sent to."""


WEBHOOK_TESTED = EventType(
    WEBHOOK_TEST_EVENT_TYPE,
    WebhookTested,
    description="An operator's test of a webhook subscription, sent to that subscription only "
    "(never to handlers, other subscriptions or the stream).",
)


class EndpointGone(PermanentFailure):
    """HTTP 410: the receiver asks never to be called again."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as a delivery attempt keeps it."""

    status: int
    excerpt: str


_noted: ContextVar[list[Answer] | None] = ContextVar("noted_answers", default=None)


@contextmanager
def answers_noted(answers: list[Answer]) -> Iterator[None]:
    """Append to ``answers`` each HTTP answer ``raise_for_answer`` reads inside the block."""
    token = _noted.set(answers)
    try:
        yield
    finally:
        _noted.reset(token)


def signed_headers(
    secrets: Sequence[str], message_id: str, body: str, at: datetime | None = None
) -> dict:
    """Standard Webhooks headers, with one signature per secret, space-separated: a receiver
    that knows any of them verifies the request."""
    at = at or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, at, body) for s in secrets),
    }


def post_event(
    url: str,
    event: Event,
    *,
    secret: str,
    previous_secret: str = "",
    checked: bool = False,
) -> httpx.Response:
    """POST ``event`` to ``url``; raise what the delivery should make of a failure.

    ``previous_secret`` signs it too, while a rotated secret's grace period runs. ``checked``
    holds ``url`` to the outbound URL policy: a refusal is a permanent failure, and the
    request goes to the address that passed.
    """
    body = to_json(event).decode()
    secrets = [secret, previous_secret] if previous_secret else [secret]
    headers = {"content-type": CONTENT_TYPE, **signed_headers(secrets, str(event.id), body)}
    build = pinned_request if checked else httpx.Request
    request = build("POST", url, content=body, headers=headers)
    # A proxy from the environment would resolve the host again, past the policy.
    with httpx.Client(timeout=settings.OUTBOUND_TIMEOUT, trust_env=not checked) as client:
        response = client.send(request)
    raise_for_answer(
        response.status_code, response.headers, body=response.text, target=endpoint(url)
    )
    return response


def pinned_request(method: str, url: str, *, content: str, headers: dict) -> httpx.Request:
    """A request to the address the policy checked, not to the host's name: resolving it
    again could give another address (DNS rebinding). The host stays in the ``Host`` header
    and in TLS, for SNI and the certificate check."""
    try:
        address = checked_address(url)
    except RefusedURL as refused:
        raise PermanentFailure(f"Refused {endpoint(url)}: {refused}") from None
    named = httpx.URL(url)
    return httpx.Request(
        method,
        named.copy_with(host=address),
        content=content,
        headers={**headers, "host": named.netloc.decode("ascii")},
        extensions={"sni_hostname": named.host},
    )


def raise_for_answer(status: int, headers: Mapping, *, body: str, target: str) -> None:
    """Turn an HTTP answer from ``target`` into the delivery's outcome (any HTTP client)."""
    excerpt = body[:EXCERPT_LENGTH]
    if (answers := _noted.get()) is not None:
        answers.append(Answer(status, excerpt))
    if 200 <= status < 300:
        return
    summary = f"HTTP {status} from {target}: {excerpt}"
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
    """The handler of an operator's webhook subscription: a 410 switches it off at once, a
    long enough run of failed attempts pauses it."""
    subscription = WebhookSubscription.objects.filter(pk=subscription_id, active=True).first()
    if subscription is None:
        raise Skip("The webhook subscription was removed or switched off.")
    row = WebhookSubscription.objects.filter(pk=subscription_id)
    try:
        post_event(
            subscription.url,
            event,
            secret=subscription.secret,
            previous_secret=subscription.previous_secret_in_grace(),
            checked=True,
        )
    except EndpointGone as gone:
        _switch_off(row, str(gone))
        raise
    except Exception:
        limit = event_setting("WEBHOOK_PAUSE_AFTER")
        row.update(consecutive_failures=F("consecutive_failures") + 1)
        _switch_off(
            row.filter(consecutive_failures__gte=limit),
            f"Paused after {limit} failed attempts in a row.",
        )
        raise
    # Read now, not before the send: another worker's failures meanwhile are behind this success.
    row.filter(consecutive_failures__gt=0).update(consecutive_failures=0)


def _switch_off(subscription: QuerySet[WebhookSubscription], reason: str) -> None:
    # Only while active: of workers failing at once, the first one's reason and time stay.
    with transaction.atomic():
        if subscription.filter(active=True).update(
            active=False, disabled_reason=reason[:300], disabled_at=timezone.now()
        ):
            settings_changed()  # workers stop making deliveries to it
