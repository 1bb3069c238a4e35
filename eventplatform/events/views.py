"""Probes for load balancers, and the event health page for operators."""

from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from .metrics import reads_operations
from .models import Delivery
from .queue import broker
from .scheduler import active_scheduler
from .supervisor import clusters_taking_work

HEALTH_WINDOW = timedelta(hours=24)


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


def percentile(sorted_values: list[int], fraction: float) -> int | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


@staff_member_required
@permission_required("events.view_delivery", raise_exception=True)
def health(request):
    """Per handler over the last day: outcomes, success rate, latency; queue and dead letters."""
    since = timezone.now() - HEALTH_WINDOW
    rows: dict[str, dict] = {}
    recent = Delivery.objects.filter(created_at__gte=since).values_list(
        "handler", "status", "duration_ms"
    )
    for handler, status, duration in recent.iterator():
        row = rows.setdefault(
            handler,
            {"handler": handler, "durations": [], **dict.fromkeys(Delivery.Status.values, 0)},
        )
        row[status] += 1
        if duration is not None and status == Delivery.Status.SUCCEEDED:
            row["durations"].append(duration)
    handlers = []
    for row in sorted(rows.values(), key=lambda r: r["handler"]):
        finished = row["succeeded"] + row["dead"] + row["failed"]
        durations = sorted(row.pop("durations"))
        row["success_rate"] = round(100 * row["succeeded"] / finished) if finished else None
        row["p50_ms"] = percentile(durations, 0.5)
        row["p95_ms"] = percentile(durations, 0.95)
        handlers.append(row)
    slowest = max((r["p95_ms"] or 0 for r in handlers), default=0) or 1
    for row in handlers:
        row["p95_width"] = round(100 * (row["p95_ms"] or 0) / slowest)
    try:
        queue_depth = broker().queue_size()
    except Exception:
        queue_depth = None
    return render(
        request,
        "events/health.html",
        {
            "handlers": handlers,
            "queue_depth": queue_depth,
            "dead_letters": Delivery.objects.filter(status=Delivery.Status.DEAD).count(),
            "window_hours": int(HEALTH_WINDOW.total_seconds() // 3600),
        },
    )
