"""The task queue: deliveries travel through django-q2 on Redis, carrying only their id."""

import os
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.signing import BadSignature, SignedPackage
from django_q.tasks import async_task

from .models import Delivery

RUN_DELIVERY = "eventplatform.events.tasks.run_delivery"

_broker: tuple[int, Broker] | None = None


def broker() -> Broker:
    """One broker per process: ``async_task`` otherwise opens a Redis connection per call.

    Keyed by pid because django-q2 forks its workers, and a connection must not cross a fork.
    """
    global _broker
    if _broker is None or _broker[0] != os.getpid():
        _broker = (os.getpid(), get_broker())
    return _broker[1]


class FrontOfQueue:
    """The shared broker, putting tasks at the head of the queue instead of its tail."""

    def __init__(self, shared: Broker) -> None:
        self.shared = shared
        self.list_key = shared.list_key

    def enqueue(self, task: bytes) -> int:
        # The pusher pops from the left.
        return self.shared.connection.lpush(self.list_key, task)


def enqueue_deliveries(
    delivery_ids: Iterable[int], now: datetime | None = None, *, first: bool = False
) -> None:
    """Put one task per delivery on the queue and note when, for the reconciler.

    ``first`` puts them ahead of everything waiting, in order: retries that are due and work
    recovered from a crash have waited already, and must not wait again behind a backlog.
    """
    ids = list(delivery_ids)
    if not ids:
        return
    target = FrontOfQueue(broker()) if first else broker()
    for delivery_id in reversed(ids) if first else ids:
        async_task(RUN_DELIVERY, delivery_id, broker=target, task_name=f"delivery-{delivery_id}")
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now or timezone.now())


def queued_delivery_ids() -> set[int]:
    """Deliveries whose task still waits in the Redis queue (not yet pulled by any cluster)."""
    queue = broker()
    ids = set()
    for package in queue.connection.lrange(queue.list_key, 0, -1):
        try:
            task = SignedPackage.loads(package)
        except BadSignature:
            continue
        if task.get("func") == RUN_DELIVERY:
            ids.add(task["args"][0])
    return ids
