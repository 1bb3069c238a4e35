"""Probes for load balancers and operators."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django_q.status import Stat

from .queue import broker


@never_cache
def healthz(request):
    """The web process serves requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """The process can do its work: database, Redis and at least one worker cluster."""
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
        clusters = Stat.get_all(broker())
        checks["workers"] = f"{len(clusters)} cluster(s)" if clusters else "error: none running"
    except Exception as error:
        checks["redis"] = f"error: {error}"
        checks["workers"] = "unknown"
    ready = all(not str(v).startswith(("error", "unknown")) for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
