"""Running one delivery: claim it, run its handler within a time limit, record the outcome.

A delivery is claimed by a compare-and-set on its row, so two tasks for the same delivery (a
duplicate enqueue, a recovery re-enqueue racing a slow worker) run the handler once.
Delivery is at least once all the same: a worker killed after the handler's work but before
the record is re-run when its lease lapses, so handlers are written to be idempotent. The
handler runs outside any transaction of ours: on SQLite a transaction holds the write lock,
and a handler may wait on the network for seconds.

The outcome is recorded twice, together or not at all (one statement on PostgreSQL, one
transaction elsewhere): on the delivery, which sums up its last attempt, and as a
``DeliveryAttempt`` row, so that every attempt stays on record. An attempt
cut short by a dead worker leaves no row: the next claim counts it all the same.
"""

import logging
import math
import os
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from .conf import event_setting
from .models import Delivery, DeliveryAttempt, Event, SettingsVersion, WebhookSubscription
from .outbox import caused_by, publish
from .outcomes import PermanentFailure, RetryLater, Skip
from .queue import enqueue_deliveries
from .settings_cache import as_of
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


@dataclass
class _Claim:
    """A delivery the worker runs, as its lease keeper sees it (times are monotonic)."""

    delivery: Delivery
    period: float
    deadline: float
    due: float


class _LeaseKeeper:
    """One thread per worker process renews the lease of the delivery the process is running.

    The lease is short, so a killed worker's delivery is claimed again within seconds; the
    thread renews it every third of its length, on a database connection of its own that it
    opens and closes per renewal. Most deliveries finish long before their first renewal: they
    cost the keeper no query and no thread of their own. Past the handler's time limit (which
    interrupts the handler) renewal stops: a worker stuck beyond it loses the delivery to
    another.
    """

    def __init__(self) -> None:
        self.pid: int | None = None

    def _start(self) -> None:
        # Per process: django-q2 forks its workers, and a fork inherits no thread.
        self.pid = os.getpid()
        self.condition = threading.Condition()
        self.current: _Claim | None = None
        self.waiting_until = math.inf
        threading.Thread(target=self._run, name="lease-keeper", daemon=True).start()

    @contextmanager
    def held(self, delivery: Delivery, seconds_allowed: float) -> Iterator[None]:
        if self.pid != os.getpid():
            self._start()
        period = lease().total_seconds() / 3
        now = time.monotonic()
        claim = _Claim(delivery, period, deadline=now + seconds_allowed, due=now + period)
        with self.condition:
            self.current = claim
            if claim.due < self.waiting_until:
                self.condition.notify()
        try:
            yield
        finally:
            # A renewal under way may still land: it changes nothing once the outcome is
            # recorded (the claim no longer matches), so the worker does not wait for it.
            with self.condition:
                self.current = None

    def _run(self) -> None:
        while True:
            with self.condition:
                claim, now = self.current, time.monotonic()
                if claim is None or claim.due > now:
                    self.waiting_until = math.inf if claim is None else claim.due
                    self.condition.wait(None if claim is None else claim.due - now)
                    continue
                renew = now < claim.deadline
                claim.due = now + claim.period if renew else math.inf
            if renew and not self._renew(claim.delivery):
                claim.due = math.inf  # the claim is lost: nothing left to keep

    def _renew(self, delivery: Delivery) -> bool:
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    _statements(connection.vendor).renew,
                    [
                        *_values(Delivery, lease_expires_at=timezone.now() + lease()),
                        *_held_params(delivery),
                    ],
                )
                return cursor.rowcount == 1
        except DatabaseError:
            # A dropped connection or a busy database: the next renewal tries again on a new
            # connection, well before the lease runs out.
            logger.warning("could not renew the lease of delivery %s", delivery.pk)
            return True
        finally:
            connection.close()


_lease_keeper = _LeaseKeeper()


def lease_renewed(delivery: Delivery, seconds_allowed: float):
    """Keep the claim on ``delivery`` while its handler runs, up to the handler's limit."""
    return _lease_keeper.held(delivery, seconds_allowed)


def claimable(now) -> Q:
    """Deliveries a worker may claim at ``now``: due, or held by a lease that lapsed.

    The claim itself states the same condition in SQL (``_statements``)."""
    return Q(status__in=[Status.PENDING, Status.FAILED], next_attempt_at__lte=now) | Q(
        status=Status.RUNNING, lease_expires_at__lte=now
    )


def claim(delivery_id: int) -> Delivery | None:
    """Mark the delivery running for this worker, or return None if it is not ours to run.

    The claim returns the delivery with its event, which the handler reads: on PostgreSQL in
    the claim's own statement, elsewhere in a second one. On PostgreSQL the same statement
    reads the version of the operators' settings (``settings_version``), under which the
    handler may use what this worker read of them before (``settings_cache``); elsewhere it
    is None.
    """
    try:
        return _claim(delivery_id)
    except (InterfaceError, OperationalError):
        # The connection died while the worker waited for work (dropped, or the database
        # restarted): claim on a new one. A claim that took effect before the answer was lost
        # finds the delivery running, and it runs again once its lease lapses.
        connection.close()
        return _claim(delivery_id)


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    params = [
        *_values(
            Delivery,
            status=Status.RUNNING,
            started_at=now,
            lease_expires_at=now + lease(),
            claimed_by=os.environ.get(CLUSTER_ID_VARIABLE, ""),
        ),
        delivery_id,
        *_values(Delivery, status=Status.PENDING, next_attempt_at=now),
        *_values(Delivery, status=Status.FAILED, next_attempt_at=now),
        *_values(Delivery, status=Status.RUNNING, lease_expires_at=now),
    ]
    with_event = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(_statements(connection.vendor).claim, params)
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(_fields(Delivery))
    delivery = _from_row(Delivery, row[:width])
    if with_event:
        delivery.event = _from_row(Event, row[width:-1])
        delivery.settings_version = row[-1]
    else:
        delivery.event = Event.objects.get(pk=delivery.event_id)
        delivery.settings_version = None
    return delivery


def _held_params(delivery: Delivery) -> list:
    return [
        delivery.pk,
        *_values(
            Delivery,
            status=Status.RUNNING,
            attempts=delivery.attempts,
            started_at=delivery.started_at,
        ),
    ]


@dataclass(frozen=True)
class _Statements:
    """The runner's own statements, written once per process: built for each delivery by the
    ORM, they cost more CPU than the database spends running them."""

    claim: str
    held: str  # the WHERE of an update that holds only while the claim is ours
    renew: str
    record: str  # on PostgreSQL: the summary's update and the attempt's insert in one
    insert_attempt: str  # elsewhere, the insert alone
    attempt_fields: tuple


@cache
def _statements(vendor: str) -> _Statements:
    q = connection.ops.quote_name
    table, events = q(Delivery._meta.db_table), q(Event._meta.db_table)
    columns = ", ".join(q(f.column) for f in _fields(Delivery))
    returning = f"RETURNING {columns}"
    # The claim's condition is claimable() in SQL: due, or held by a lease that lapsed.
    claim = (
        f"UPDATE {table} SET {q('status')} = %s, {q('attempts')} = {q('attempts')} + 1, "
        f"{q('started_at')} = %s, {q('lease_expires_at')} = %s, {q('claimed_by')} = %s "
        f"WHERE {q('id')} = %s AND ({q('status')} = %s AND {q('next_attempt_at')} <= %s "
        f"OR {q('status')} = %s AND {q('next_attempt_at')} <= %s "
        f"OR {q('status')} = %s AND {q('lease_expires_at')} <= %s)"
    )
    # The claim is told by its attempt and its start: a replay starts the attempts over, so a
    # worker stuck on an earlier run can share the attempt number of a newer one, never its
    # start.
    held = (
        f"{q('id')} = %s AND {q('status')} = %s AND {q('attempts')} = %s AND {q('started_at')} = %s"
    )
    # Every column but the id, in the model's order: the delivery first, then what ``_record``
    # says of the attempt.
    attempt_fields = tuple(f for f in DeliveryAttempt._meta.concrete_fields if not f.primary_key)
    attempt_columns = ", ".join(q(f.column) for f in attempt_fields)
    attempts = q(DeliveryAttempt._meta.db_table)
    if vendor == "postgresql":
        event_columns = ", ".join(f"event.{q(f.column)}" for f in _fields(Event))
        settings_version = (
            f"(SELECT {q('token')} FROM {q(SettingsVersion._meta.db_table)} "
            f"WHERE {q('id')} = {SettingsVersion.ROW})"
        )
        claim = (
            f"WITH claimed AS ({claim} {returning}) SELECT claimed.*, {event_columns}, "
            f"{settings_version} FROM claimed JOIN {events} event "
            f"ON event.{q(Event._meta.pk.column)} = claimed.{q('event_id')}"
        )
    else:
        claim = f"{claim} {returning}"
    # Typed placeholders: in INSERT ... SELECT a bare NULL would be read as text.
    typed = ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in attempt_fields[1:])
    return _Statements(
        claim=claim,
        held=held,
        renew=f"UPDATE {table} SET {q('lease_expires_at')} = %s WHERE {held}",
        record=(
            f"WITH held AS (UPDATE {table} SET {{}} WHERE {held} RETURNING {q('id')}) "
            f"INSERT INTO {attempts} ({attempt_columns}) SELECT held.{q('id')}, {typed} FROM held"
        ),
        insert_attempt=(
            f"INSERT INTO {attempts} ({attempt_columns}) "
            f"VALUES ({', '.join(['%s'] * len(attempt_fields))})"
        ),
        attempt_fields=attempt_fields,
    )


def _values(model, **values) -> list:
    """``values`` as the database takes them for ``model``'s fields, in order."""
    return [
        model._meta.get_field(name).get_db_prep_save(v, connection) for name, v in values.items()
    ]


def _fields(model) -> list:
    return model._meta.concrete_fields


def _from_row(model, row):
    """A model instance from a row of its columns, converted as the ORM converts its reads."""
    values = list(row)
    for i, column, converters in _converters(model, connection.vendor):
        for convert in converters:
            values[i] = convert(values[i], column, connection)
    return model.from_db(connection.alias, [f.attname for f in _fields(model)], values)


@cache
def _converters(model, vendor: str) -> list:
    """(position, column, converters) of each of ``model``'s columns that has converters."""
    found = []
    for i, model_field in enumerate(_fields(model)):
        column = model_field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            found.append((i, column, converters))
    return found


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
            as_of(delivery.settings_version),
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
        "number": delivery.attempts,
        "started_at": delivery.started_at,
        "duration_ms": duration_ms,
        "outcome": outcome,
        "error": error,
        "http_status": answer.status if answer else None,
        "response_excerpt": answer.excerpt if answer else "",
    }

    def write() -> bool:
        return _write_outcome(delivery, summary, attempt)

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


def _write_outcome(delivery: Delivery, summary: dict, attempt: dict) -> bool:
    """Update the delivery's summary and add its attempt, together or not at all, if the
    claim is still ours; whether it was.

    On PostgreSQL one statement does both (the attempt is inserted from the row the update
    returns): a single round trip, atomic without a transaction of its own.
    """
    statements = _statements(connection.vendor)
    assignments = ", ".join(
        f"{connection.ops.quote_name(Delivery._meta.get_field(name).column)} = %s"
        for name in summary
    )
    update_params = [*_values(Delivery, **summary), *_held_params(delivery)]
    attempt_params = [
        f.get_db_prep_save(attempt[f.name], connection) for f in statements.attempt_fields[1:]
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(statements.record.format(assignments), [*update_params, *attempt_params])
            return cursor.rowcount == 1
        with transaction.atomic():
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(Delivery._meta.db_table)} "
                f"SET {assignments} WHERE {statements.held}",
                update_params,
            )
            if cursor.rowcount != 1:
                return False
            cursor.execute(statements.insert_attempt, [delivery.pk, *attempt_params])
    return True


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
