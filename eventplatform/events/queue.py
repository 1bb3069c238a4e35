"""The task queue: deliveries travel through django-q2 on Redis, carrying only their id."""

import os
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.signing import BadSignature, SignedPackage
from django_q.tasks import async_task
from redis.client import Pipeline

from .conf import event_setting
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


class Pipelined:
    """Stands in for the broker in ``async_task``: each task joins a Redis pipeline instead of
    leaving at once, so that django-q2 still builds and signs the task while everything one
    commit sends takes a single round trip.

    ``first`` puts the tasks at the head of the queue (the pusher pops from the left).
    """

    def __init__(self, pipeline: Pipeline, list_key: str, *, first: bool = False) -> None:
        self.pipeline = pipeline
        self.list_key = list_key
        self.first = first

    def enqueue(self, task: bytes) -> str:
        (self.pipeline.lpush if self.first else self.pipeline.rpush)(self.list_key, task)
        # What django-q2 logs as the queue's answer: the pipeline has not sent anything yet.
        return "in a pipeline"


def pipeline() -> Pipeline:
    """A pipeline on the shared broker's connection; nothing is sent until ``execute()``."""
    return broker().connection.pipeline(transaction=False)


def queue_tasks(pipe: Pipeline, delivery_ids: list[int], *, first: bool = False) -> None:
    """Add one task per delivery to ``pipe``, carrying only the delivery's id.

    ``first`` puts them ahead of everything waiting, in order: retries that are due and work
    recovered from a crash have waited already, and must not wait again behind a backlog.
    """
    target = Pipelined(pipe, broker().list_key, first=first)
    for delivery_id in reversed(delivery_ids) if first else delivery_ids:
        async_task(RUN_DELIVERY, delivery_id, broker=target, task_name=f"delivery-{delivery_id}")


def mark_sent(pipe: Pipeline, event_id: uuid.UUID) -> None:
    """Note in ``pipe`` that the tasks of the event's deliveries are sent with it, for a while:
    the reconciler tells a delivery never enqueued (the process died between its commit and
    its enqueue) from one a cluster pulled off the queue and has not started yet."""
    # Well past DEQUEUE_GRACE, after which a task missing from the queue counts as lost
    # whether it was sent or not.
    seconds = max(60, 2 * int(event_setting("DEQUEUE_GRACE")))
    pipe.set(_sent_key(event_id), 1, ex=seconds)


def sent_events(event_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The events among these whose deliveries' tasks were sent lately (``mark_sent``)."""
    ids = list(event_ids)
    if not ids:
        return set()
    marks = broker().connection.mget([_sent_key(event_id) for event_id in ids])
    return {event_id for event_id, mark in zip(ids, marks, strict=True) if mark is not None}


def _sent_key(event_id: uuid.UUID) -> str:
    # The event's id, not its position: a position rolled back is handed out again.
    return f"{settings.NAMESPACE}:sent:{event_id}"


def enqueue_deliveries(
    delivery_ids: Iterable[int], now: datetime | None = None, *, first: bool = False
) -> None:
    """Put one task per delivery on the queue and note when, for the reconciler.

    The outbox's own enqueue after a commit does not come this way: its deliveries carry
    their enqueue time from their INSERT instead of an UPDATE after it, and the tasks go
    with a ``mark_sent`` (``outbox.dispatch``).
    """
    ids = list(delivery_ids)
    if not ids:
        return
    pipe = pipeline()
    queue_tasks(pipe, ids, first=first)
    pipe.execute()
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now or timezone.now())


def wake_key() -> str:
    return f"{settings.NAMESPACE}:scheduler:wake"


def wake_scheduler(pipe: Pipeline) -> Pipeline:
    """Add to ``pipe`` a word that work moved, for a scheduler with nothing to do: it waits
    for one instead of reading Redis every second. At most one word waits for it."""
    return pipe.lpush(wake_key(), 1).ltrim(wake_key(), 0, 0)


class _QueueReader:
    """Reads which deliveries wait in the Redis queue, unsigning each task once.

    The scheduler reads the whole queue on each of its looks while a backlog drains, and
    unsigning thousands of tasks a second (an HMAC and an unpickling each) spent CPU the
    workers draining them could use. A task's bytes are remembered with its delivery while it
    stays in the queue, so each look unsigns only what arrived since the last.
    """

    def __init__(self) -> None:
        self.known: dict[bytes, int | None] = {}

    def delivery_ids(self) -> set[int]:
        queue, known = broker(), self.known
        self.known = {
            package: known[package] if package in known else _delivery_id(package)
            for package in queue.connection.lrange(queue.list_key, 0, -1)
        }
        return {pk for pk in self.known.values() if pk is not None}


def _delivery_id(package: bytes) -> int | None:
    """The delivery a queued task runs, or None for another task or one not ours to read."""
    try:
        task = SignedPackage.loads(package)
    except BadSignature:
        return None
    return task["args"][0] if task.get("func") == RUN_DELIVERY else None


_queue_reader = _QueueReader()


def queued_delivery_ids() -> set[int]:
    """Deliveries whose task still waits in the Redis queue (not yet pulled by any cluster)."""
    return _queue_reader.delivery_ids()
