"""The backbone's settings, with their defaults: a project overrides any of them in
``settings.EVENTS``, and the backbone reads them through ``event_setting()``."""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Seconds to wait before each retry of a failed delivery; its length bounds the attempts.
    "RETRY_SCHEDULE": [5, 30, 120, 600, 3600],
    # A handler running longer than this is interrupted and its attempt fails.
    "HANDLER_TIME_LIMIT": 30,
    # A claim on a delivery lasts this long unless its worker renews it (it does, every third
    # of it, while the handler runs): a killed worker's delivery runs again this soon.
    "LEASE": 10,
    # A pending delivery not enqueued this many seconds after its commit is enqueued again.
    "ENQUEUE_GRACE": 2,
    # A task that left the queue this long ago without starting was lost with its cluster.
    "DEQUEUE_GRACE": 10,
    # How often the scheduler looks for stranded work; it also wakes when a retry falls due.
    "SCHEDULER_TICK": 1.0,
    # Work waiting this long while a cluster has idle workers and starts nothing: replaced.
    "STALL_AFTER": 5,
    # Events a reconnecting socket may catch up on before it is asked to reload.
    "RESUME_LIMIT": 1000,
    # Messages waiting for one socket before it is closed with 4408 and asked to resume.
    "SOCKET_BUFFER": 1000,
    # Stream sockets one user may hold on one web process (a browser with a few tabs open);
    # the next is closed with 4429.
    "SOCKETS_PER_USER": 10,
    # Days an event is kept once everything it caused has finished (dead letters stay).
    "RETENTION_DAYS": 30,
    # Hours a rotated webhook secret still signs requests beside the new one.
    "WEBHOOK_SECRET_GRACE_HOURS": 24,
    # Failed attempts in a row after which a webhook subscription is paused.
    "WEBHOOK_PAUSE_AFTER": 20,
}


def event_setting(name: str) -> Any:
    """The value of one backbone setting: the project's, or its default."""
    if name not in DEFAULTS:
        raise KeyError(f"{name!r} is not a setting of the event backbone: see events/conf.py.")
    return getattr(settings, "EVENTS", {}).get(name, DEFAULTS[name])
