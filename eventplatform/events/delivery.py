"""Running one delivery: claim it, run its handler within a time limit, record the outcome.

A delivery is claimed by a compare-and-set on its row, so two tasks for the same delivery (a
duplicate enqueue, a recovery re-enqueue racing a slow worker) run the handler once.
Delivery is at least once all the same: a worker killed after the handler's work but before
the record is re-run when its lease lapses, so handlers are written to be idempotent. The
handler runs outside any transaction of ours: on SQLite a transaction holds the write lock,
and a handler may wait on the network for seconds.

The outcome is recorded twice in one transaction: on the delivery, which sums up its last
attempt, and as a ``DeliveryAttempt`` row, so that every attempt stays on record. An attempt
cut short by a dead worker leaves no row: the next claim counts it all the same.
"""

import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .conf import event_setting
from .models import Delivery, DeliveryAttempt, WebhookSubscription
from .outbox import caused_by, publish
from .outcomes import PermanentFailure, RetryLater, Skip
from .queue import enqueue_deliveries
from .subscriptions import Handler, get_handler
from .supervisor import CLUSTER_ID_VARIABLE
from .webhooks import WEBHOOK_TESTED, Answer, WebhookTested, answers_noted

logger = logging.getLogger(__name__)
Status = Delivery.Status
Outcome = DeliveryAttempt.Outcome


class TimeLimitExceeded(BaseException):
    """Raised inside a handler that ran past its time limit.

    A BaseException, so that a handler's own ``except Exception`` cannot swallow it.
    """


def lease() -> timedelta:
    return timedelta(seconds=event_setting("LEASE"))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only, as in a queue worker).

    The queue's own timeout is a SIGALRM too (django-q2 arms ``alarm()`` around each task):
    the block borrows the timer and gives back what is left of the queue's alarm, so that
    one limit never cancels the other. If the queue's alarm is due first, it interrupts the
    handler as the handler's limit would, and is spent.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # the queue's own timeout is the bound here
        return

    queue_alarm, _ = signal.getitimer(signal.ITIMER_REAL)
    limit = min(seconds, queue_alarm) if queue_alarm else seconds
    interrupted = finished = False
    why = (
        f"ran longer than its time limit of {seconds:g} s"
        if limit == seconds
        else "ran into the task queue's timeout"
    )

    def interrupt(signum, frame):
        nonlocal interrupted
        if finished:  # the block returned as the alarm went off: it kept to its limit
            return
        interrupted = True
        raise TimeLimitExceeded(why)

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, limit)
    started = time.monotonic()
    try:
        yield
    finally:
        finished = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if queue_alarm and not (interrupted and limit == queue_alarm):
            left = queue_alarm - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


@contextmanager
def lease_renewed(delivery: Delivery, seconds_allowed: float) -> Iterator[None]:
    """Keep the claim on ``delivery`` while its handler runs, up to the handler's limit.

    The lease is short, so a killed worker's delivery is claimed again within seconds; a
    thread renews it every third of its length, on its own database connection. Past the
    handler's time limit (which interrupts the handler) renewal stops: a worker stuck beyond
    it loses the delivery to another.
    """
    period = lease().total_seconds() / 3
    stop = threading.Event()

    def renew() -> None:
        deadline = time.monotonic() + seconds_allowed
        try:
            while not stop.wait(period) and time.monotonic() < deadline:
                try:
                    if not held_by_us(delivery).update(lease_expires_at=timezone.now() + lease()):
                        return  # the claim is lost: nothing left to keep
                except DatabaseError:
                    # A dropped connection or a busy database: the next renewal tries again
                    # on a new connection, well before the lease runs out.
                    logger.warning("could not renew the lease of delivery %s", delivery.pk)
                    connection.close()
        finally:
            connection.close()

    renewer = threading.Thread(target=renew, name=f"lease-{delivery.pk}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        # A renewal stuck on a dead connection must not hold the worker; it can change
        # nothing once the outcome is recorded (the claim no longer matches).
        renewer.join(timeout=period)


def claimable(now) -> Q:
    """Deliveries a worker may claim at ``now``: due, or held by a lease that lapsed."""
    return Q(status__in=[Status.PENDING, Status.FAILED], next_attempt_at__lte=now) | Q(
        status=Status.RUNNING, lease_expires_at__lte=now
    )


def claim(delivery_id: int) -> Delivery | None:
    """Mark the delivery running for this worker, or return None if it is not ours to run."""
    now = timezone.now()
    claimed = Delivery.objects.filter(claimable(now), pk=delivery_id).update(
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        lease_expires_at=now + lease(),
        claimed_by=os.environ.get(CLUSTER_ID_VARIABLE, ""),
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("event").get(pk=delivery_id)


def held_by_us(delivery: Delivery):
    """The delivery's row while this claim holds it. The claim is told by its attempt and its
    start: a replay starts the attempts over, so a worker stuck on an earlier run can share
    the attempt number of a newer one, never its start."""
    return Delivery.objects.filter(
        pk=delivery.pk,
        status=Status.RUNNING,
        attempts=delivery.attempts,
        started_at=delivery.started_at,
    )


@dataclass
class Run:
    """A handler's run, as its attempt records it: when it started, what receivers answered."""

    started: float = field(default_factory=time.monotonic)
    answers: list[Answer] = field(default_factory=list)


def execute(delivery_id: int) -> str:
    """Run one delivery; return its resulting status (the queue's task result)."""
    delivery = claim(delivery_id)
    if delivery is None:
        logger.info("delivery %s is not due or already done; nothing to do", delivery_id)
        return "not claimed"
    try:
        handler = get_handler(delivery.handler)
    except KeyError:
        return _record(
            delivery, Status.DEAD, Outcome.DEAD, error="No handler of this name is subscribed."
        )

    run = Run()
    try:
        with (
            caused_by(delivery.event),
            answers_noted(run.answers),
            lease_renewed(delivery, handler.seconds_allowed),
            time_limit(handler.seconds_allowed),
        ):
            handler.func(delivery.event)
    except Skip as reason:
        return _record(delivery, Status.SKIPPED, Outcome.SKIPPED, run, error=str(reason))
    except PermanentFailure as failure:
        return _record(delivery, Status.DEAD, Outcome.DEAD, run, error=_describe(failure), tb=True)
    except RetryLater as failure:
        return _fail(delivery, handler, run, failure, Outcome.RETRY_LATER, delay=failure.seconds)
    except TimeLimitExceeded as failure:
        return _fail(delivery, handler, run, failure, Outcome.TIMED_OUT)
    except Exception as failure:
        return _fail(delivery, handler, run, failure, Outcome.FAILED)
    return _record(delivery, Status.SUCCEEDED, Outcome.SUCCEEDED, run)


def _fail(
    delivery: Delivery,
    handler: Handler,
    run: Run,
    failure: BaseException,
    outcome: str,
    delay: float | None = None,
) -> str:
    """A failed attempt: retried after its back-off (or the receiver's delay, whichever is
    later), or a dead letter once the handler's retry policy has none left."""
    backoff = handler.retry_policy.delay_after(delivery.attempts)
    if backoff is None:
        return _record(delivery, Status.DEAD, outcome, run, error=_describe(failure), tb=True)
    return _record(
        delivery,
        Status.FAILED,
        outcome,
        run,
        error=_describe(failure),
        tb=True,
        retry_in=max(backoff, delay or 0),
    )


def _describe(failure: BaseException) -> str:
    return f"{type(failure).__name__}: {failure}"


def _record(
    delivery: Delivery,
    status: str,
    outcome: str,
    run: Run | None = None,
    *,
    error: str = "",
    tb: bool = False,
    retry_in: float | None = None,
) -> str:
    """Write the attempt's outcome, to the delivery's summary and its history in one
    transaction, if this worker still holds the claim; "" if it does not."""
    now = timezone.now()
    duration_ms = round((time.monotonic() - run.started) * 1000) if run else None
    summary = {
        "status": status,
        "finished_at": now,
        "lease_expires_at": None,
        "last_error": error,
        "traceback": traceback.format_exc() if tb else "",
        "next_attempt_at": now + timedelta(seconds=retry_in) if retry_in is not None else None,
    }
    if duration_ms is not None:
        summary["duration_ms"] = duration_ms
    answer = run.answers[-1] if run and run.answers else None
    attempt = {
        "delivery": delivery,
        "number": delivery.attempts,
        "started_at": delivery.started_at,
        "duration_ms": duration_ms,
        "outcome": outcome,
        "error": error,
        "http_status": answer.status if answer else None,
        "response_excerpt": answer.excerpt if answer else "",
    }

    def write() -> bool:
        with transaction.atomic():
            held = held_by_us(delivery).update(**summary)
            if held:
                DeliveryAttempt.objects.create(**attempt)
        return bool(held)

    try:
        held = write()
    except (InterfaceError, OperationalError):
        # The connection died while the handler ran (dropped, or the database restarted):
        # record on a new one rather than leave the work to run again when the lease lapses.
        connection.close()
        held = write()
    if not held:
        logger.warning("delivery %s was claimed by another worker meanwhile", delivery.pk)
        return ""
    log = logger.info if status in (Status.SUCCEEDED, Status.SKIPPED) else logger.warning
    log(
        "delivery %s of %s by %s: %s (attempt %s)%s",
        delivery.pk,
        delivery.event.type,
        delivery.handler,
        status,
        delivery.attempts,
        f": {error}" if error else "",
        extra={"event_id": str(delivery.event.id)},
    )
    return status


def retry_now(deliveries) -> list[int]:
    """Operator's retry: give failed and dead deliveries one more attempt, at once.

    Returns the ids this call moved to pending. Each row is a compare-and-set whose row count
    decides, so of concurrent retries of one delivery exactly one wins; rows are taken in id
    order, so that two bulk retries never wait on each other's locks in a cycle.
    """
    retryable = [Status.FAILED, Status.DEAD]
    candidates = list(
        deliveries.filter(status__in=retryable).order_by("pk").values_list("pk", flat=True)
    )
    if not candidates:
        return []
    now = timezone.now()
    with transaction.atomic():
        retried = [
            pk
            for pk in candidates
            if Delivery.objects.filter(pk=pk, status__in=retryable).update(
                status=Status.PENDING, next_attempt_at=now, lease_expires_at=None, enqueued_at=None
            )
        ]
        transaction.on_commit(lambda: enqueue_deliveries(retried, first=True), robust=True)
    return retried


def send_test_event(subscription: WebhookSubscription) -> Delivery:
    """An operator's check of a subscription: a test event delivered to it alone, recorded
    and retried like any delivery. ``publish`` gives the event no delivery of its own: no
    handler subscribes to its type, no subscription's pattern matches it, and its audience on
    the stream is nobody."""
    with transaction.atomic():
        event = publish(WEBHOOK_TESTED, WebhookTested(subscription_id=subscription.pk))
        delivery = Delivery.objects.create(
            event=event,
            handler=subscription.handler_name,
            created_at=event.time,
            next_attempt_at=event.time,
        )
        transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]), robust=True)
    return delivery
