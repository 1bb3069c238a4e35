"""Outbound webhooks against a real local endpoint: signed CloudEvents, answers as outcomes."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_structured
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks import Webhook

from eventplatform.events.outbox import publish
from eventplatform.events.outcomes import PermanentFailure, RetryLater
from eventplatform.events.webhooks import EndpointGone, post_event
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LTMyLWJ5dGVzIQ=="
PREVIOUS_SECRET = "whsec_" + "b2xkLXNlY3JldC1mb3ItdGVzdHMtb25seS0zMi1ieXRlcw=="


@pytest.fixture
def event():
    return publish(WIDGET_ORDERED, {"order_id": 9, "customer_id": 4})


def test_the_receiver_verifies_the_signature_and_reads_a_cloudevent(http_receiver, event):
    post_event(http_receiver.url, event, secret=SECRET)

    (request,) = http_receiver.requests
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["webhook-id"] == str(event.id)
    Webhook(SECRET).verify(request.body, request.headers)
    received = from_structured(
        HTTPMessage(headers=request.headers, body=request.body), JSONFormat()
    )
    assert received.get_id() == str(event.id)
    assert received.get_type() == "sample.widget.ordered.v1"
    assert received.get_data() == {"order_id": 9, "customer_id": 4, "note": ""}


def test_a_previous_secret_signs_too_and_either_secret_verifies_alone(http_receiver, event):
    post_event(http_receiver.url, event, secret=SECRET, previous_secret=PREVIOUS_SECRET)

    (request,) = http_receiver.requests
    signatures = request.headers["webhook-signature"].split(" ")
    assert [signature[:3] for signature in signatures] == ["v1,", "v1,"]
    Webhook(SECRET).verify(request.body, request.headers)
    Webhook(PREVIOUS_SECRET).verify(request.body, request.headers)


def test_a_tampered_body_fails_verification(http_receiver, event):
    post_event(http_receiver.url, event, secret=SECRET)
    request = http_receiver.requests[0]
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(SECRET).verify(request.body.replace(b"9", b"8"), request.headers)


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_transient_answers_are_retried_honouring_retry_after(http_receiver, event, status):
    http_receiver.status = status
    http_receiver.response_headers = {"Retry-After": "120"}
    with pytest.raises(RetryLater) as raised:
        post_event(http_receiver.url, event, secret=SECRET)
    assert raised.value.seconds == 120


def test_retry_after_may_be_a_date(http_receiver, event):
    http_receiver.status = 429
    http_receiver.response_headers = {
        "Retry-After": format_datetime(datetime.now(UTC) + timedelta(minutes=5), usegmt=True)
    }
    with pytest.raises(RetryLater) as raised:
        post_event(http_receiver.url, event, secret=SECRET)
    assert 290 <= raised.value.seconds <= 300


@pytest.mark.parametrize(
    "status, failure", [(400, PermanentFailure), (404, PermanentFailure), (410, EndpointGone)]
)
def test_other_client_errors_are_permanent(http_receiver, event, status, failure):
    http_receiver.status = status
    with pytest.raises(failure, match=f"HTTP {status}"):
        post_event(http_receiver.url, event, secret=SECRET)


def test_a_redirect_is_not_followed_and_fails_for_good(http_receiver, event):
    http_receiver.status = 302
    http_receiver.response_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    with pytest.raises(PermanentFailure, match="HTTP 302"):
        post_event(http_receiver.url, event, secret=SECRET)
    assert len(http_receiver.requests) == 1


def test_errors_name_the_endpoint_without_its_query_string(http_receiver, event):
    http_receiver.status = 400
    with pytest.raises(PermanentFailure) as raised:
        post_event(f"{http_receiver.url}?token=s3cret", event, secret=SECRET)
    assert str(raised.value) == f"HTTP 400 from {http_receiver.url}: error"
