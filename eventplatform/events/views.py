"""Probes for load balancers, and the event health and chain pages for operators."""

from django import forms
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from .chains import chain_of, event_chain
from .health import HandlerFigures, health_snapshot
from .metrics import reads_operations
from .permissions import VIEW_DELIVERIES, VIEW_EVENTS, operator_required
from .queue import broker
from .realtime.pages import live_page
from .scheduler import active_scheduler
from .subscriptions import not_configured
from .supervisor import clusters_taking_work


@never_cache
def healthz(request):
    """The web process serves requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """The platform can do its work: database, Redis, a worker cluster taking work, and the
    scheduler. Workers and scheduler are judged by their supervisor's heartbeat and the
    scheduler's lock, never by what a cluster says of itself.

    A load balancer needs the status code only; what each check found (error texts, hosts)
    is for those who may read the metrics."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {error}"
    try:
        broker().ping()
        checks["redis"] = "ok"
        clusters = clusters_taking_work()
        checks["workers"] = f"{clusters} cluster(s)" if clusters else "error: none taking work"
        holder = active_scheduler()
        checks["scheduler"] = f"ok ({holder})" if holder else "error: none running"
    except Exception as error:
        checks["redis"] = f"error: {error}"
        checks["workers"] = checks["scheduler"] = "unknown"
    ready = all(not str(v).startswith(("error", "unknown")) for v in checks.values())
    answer = {"status": "ok" if ready else "unavailable"}
    if reads_operations(request):
        answer["checks"] = checks
    return JsonResponse(answer, status=200 if ready else 503)


HEALTH_WINDOWS = {"last_day": "Last 24 hours", "last_hour": "Last hour"}


@operator_required(VIEW_DELIVERIES)
@live_page
def health(request):
    """Per handler over the last day or hour: outcomes, success rate, latency; the queue,
    dead letters, the oldest pending delivery and the heartbeats. Live: the scheduler
    publishes each change to operators (``events.health.changed.v1``)."""
    window = request.GET.get("window", "last_day")
    if window not in HEALTH_WINDOWS:
        window = "last_day"
    snapshot = health_snapshot()
    return render(
        request,
        "events/health.html",
        {
            **snapshot.model_dump(),
            "window": window,
            "windows": HEALTH_WINDOWS,
            "window_title": HEALTH_WINDOWS[window],
            "handlers": with_latency_bars(getattr(snapshot, window)),
            "not_configured": not_configured(),
        },
    )


def with_latency_bars(figures: list[HandlerFigures]) -> list[dict]:
    """Each handler's figures, with its p95 as a share of the window's slowest."""
    slowest = max((f.p95_ms or 0 for f in figures), default=0) or 1
    return [
        {**f.model_dump(), "p95_width": round(100 * (f.p95_ms or 0) / slowest)} for f in figures
    ]


# A chain shows each event's deliveries, so it asks for what the event API's detail asks for.
READ_CHAINS = [VIEW_EVENTS, VIEW_DELIVERIES]


class ChainSearchForm(forms.Form):
    reference = forms.CharField(label="Request id or event id", max_length=64)

    def clean_reference(self) -> str:
        correlation_id = chain_of(self.cleaned_data["reference"].strip())
        if correlation_id is None:
            raise forms.ValidationError("No event has this request id or event id.")
        return correlation_id


@operator_required(*READ_CHAINS)
def chain_search(request):
    """Find a chain by what an operator holds: a log line's request or event id."""
    form = ChainSearchForm(request.GET or None)
    if form.is_valid():
        return redirect("event-chain", correlation_id=form.cleaned_data["reference"])
    return render(request, "events/chain_search.html", {"form": form})


@operator_required(*READ_CHAINS)
def chain(request, correlation_id: str):
    """Every event one request caused, nested under its cause, with each one's deliveries."""
    links = event_chain(correlation_id)
    if not links:
        raise Http404("No event has this request id.")
    return render(request, "events/chain.html", {"correlation_id": correlation_id, "links": links})
