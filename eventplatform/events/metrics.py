"""Prometheus metrics, read from the outbox at scrape time.

The delivery rows are the record, so the numbers are the same whichever process answers the
scrape, and nothing is counted in worker memory that a restart would lose. They are read by a
scraper holding ``METRICS_TOKEN`` or by an operator's session.
"""

import secrets

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .models import Delivery, Event
from .permissions import is_operator
from .queue import broker


class OutboxCollector:
    def collect(self):
        deliveries = GaugeMetricFamily(
            "eventplatform_deliveries",
            "Deliveries by handler and status.",
            labels=["handler", "status"],
        )
        for row in Delivery.objects.values("handler", "status").annotate(n=Count("id")):
            deliveries.add_metric([row["handler"], row["status"]], row["n"])
        yield deliveries

        events = GaugeMetricFamily(
            "eventplatform_events", "Events recorded, by type.", labels=["type"]
        )
        for row in Event.objects.values("type").annotate(n=Count("position")):
            events.add_metric([row["type"]], row["n"])
        yield events

        depth = GaugeMetricFamily(
            "eventplatform_queue_depth", "Tasks waiting in the queue (-1: Redis unreachable)."
        )
        try:
            depth.add_metric([], broker().queue_size())
        except Exception:
            depth.add_metric([], -1)
        yield depth


# No auto-describe: registering would then collect, querying the database at import time.
registry = CollectorRegistry(auto_describe=False)
registry.register(OutboxCollector())


def reads_operations(request: HttpRequest) -> bool:
    """A scraper presenting ``Authorization: Bearer <METRICS_TOKEN>``, or a staff session that
    may view deliveries: who may read the metrics and what ``/readyz`` found."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if settings.METRICS_TOKEN and scheme.lower() == "bearer":
        return secrets.compare_digest(token.encode(), settings.METRICS_TOKEN.encode())
    return is_operator(request.user)


@never_cache
def metrics(request):
    if not reads_operations(request):
        response = HttpResponse("Give the metrics token, or sign in as an operator.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
