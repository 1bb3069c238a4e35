"""Benchmark: how fast two workers clear the reactions to a burst of tickets, against the most
django-q2 itself clears with the same settings.

Each round, alternating with its baseline:

- **Platform.** A new PostgreSQL database, migrated; an SMTP server on loopback that counts
  and discards. A child process (the same environment as the workers) opens TICKETS tickets
  through ``support.services.ticket_create``, one transaction each, as fast as it can, while
  no worker runs: their reactions wait in the queue. Then the workers start as production
  starts them (``manage.py run_workers`` with Q_WORKERS=2, and ``manage.py run_scheduler``)
  and drain it. Once they are idle, a second burst arrives while they run, which is what
  gives the latency from commit to start. From the ``Delivery`` table: deliveries completed
  per second (first ``started_at`` to last ``finished_at`` of the burst's deliveries), tickets
  per second, commit -> start latency (``started_at`` - ``Event.time``, which is stamped in
  the transaction just before its commit), and every delivery's outcome.
- **Baseline.** The same settings and ``Q_CLUSTER`` (2 workers, ``save_limit`` -1), a new
  database and namespace: NOOP_TASKS tasks that only note in Redis that they ran are queued,
  then a plain ``manage.py qcluster`` starts and drains them: first start to last finish.

    .venv/bin/python bench/deliveries.py          # BENCH_ROUNDS rounds (3), then the report

Results replace the "deliveries" section of docs/benchmarks.md.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

TICKETS = 500
NOOP_TASKS = 2000
NOOP_TASK = "bench.deliveries.noop"
DRAIN_TIMEOUT = 300  # seconds a burst's reactions get to finish before the round fails
FINAL = ("succeeded", "skipped", "dead")


# --- what runs in child processes -------------------------------------------------------------

_redis = None


def noop() -> None:
    """The baseline's task: nothing but a note in Redis that it ran, and when."""
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    now = time.time()
    key = noop_key(os.environ["EVENTPLATFORM_NAMESPACE"])
    _redis.pipeline(transaction=False).hsetnx(key, "first", now).hset(key, "last", now).hincrby(
        key, "done", 1
    ).execute()


def noop_key(namespace: str) -> str:
    return f"{namespace}:bench-noop"


def child_main(command: str, count: int) -> None:
    """``burst``: open ``count`` tickets for one customer; ``noop``: queue ``count`` no-op tasks.
    Prints what the parent needs as one JSON line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventplatform.settings")
    import django

    django.setup()
    if command == "noop":
        from django_q.tasks import async_task

        from eventplatform.events.queue import broker

        shared = broker()
        for _ in range(count):
            async_task(NOOP_TASK, broker=shared)
        print(json.dumps({"queued": count}))
        return

    from django.contrib.auth import get_user_model

    from eventplatform.events.models import Event
    from support.services import ticket_create

    customer, _ = get_user_model().objects.get_or_create(
        username="bench-customer", defaults={"email": "customer@bench.example"}
    )
    after = Event.objects.order_by("-position").values_list("position", flat=True).first() or 0
    started = time.time()
    for n in range(count):
        ticket_create(
            customer=customer,
            subject=f"Cannot sign in ({n})",
            body="The login page says my password is wrong since this morning.",
        )
    print(json.dumps({"after_position": after, "seconds": time.time() - started}))


def in_child(env: dict[str, str], command: str, count: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, command, str(count)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the platform -----------------------------------------------------------------------------


def deliveries_after(url: str, position: int) -> list[tuple]:
    """(handler, status, attempts, started, finished, event time) of each delivery of the
    events after ``position``, times as Unix seconds."""
    return harness.query(
        url,
        """
        SELECT d.handler, d.status, d.attempts, extract(epoch FROM d.started_at)::float8,
               extract(epoch FROM d.finished_at)::float8, extract(epoch FROM e.time)::float8
        FROM events_delivery d JOIN events_event e ON e.position = d.event_id
        WHERE e.position > %s
        """,
        (position,),
    )


def wait_drained(url: str, position: int) -> list[tuple]:
    """The burst's deliveries once none is left to run and no new one appeared for a second
    (prioritisation publishes the events of the SLA timers as it goes)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    seen = -1
    while time.monotonic() < deadline:
        rows = deliveries_after(url, position)
        if rows and len(rows) == seen and all(row[1] in FINAL for row in rows):
            return rows
        seen = len(rows)
        time.sleep(1.0)
    return deliveries_after(url, position)


def burst_figures(rows: list[tuple], sent: int) -> dict:
    started = [row[3] for row in rows if row[3] is not None]
    finished = [row[4] for row in rows if row[4] is not None]
    window = max(finished) - min(started) if started and finished else float("nan")
    statuses: dict[str, int] = {}
    handlers: dict[str, int] = {}
    for handler, status, *_ in rows:
        statuses[status] = statuses.get(status, 0) + 1
        handlers[handler] = handlers.get(handler, 0) + 1
    waits = [(row[3] - row[5]) * 1000 for row in rows if row[3] is not None]
    succeeded = statuses.get("succeeded", 0)
    return {
        "deliveries": len(rows),
        "succeeded": succeeded,
        "pending": statuses.get("pending", 0) + statuses.get("running", 0),
        "failed": statuses.get("failed", 0),
        "dead": statuses.get("dead", 0),
        "retried": sum(1 for row in rows if row[2] > 1),
        "handlers": handlers,
        "emails": sent,
        "window": window,
        "per_second": succeeded / window,
        "tickets_per_second": TICKETS / window,
        "wait_p50_ms": harness.percentile(waits, 50),
        "wait_p99_ms": harness.percentile(waits, 99),
    }


def platform_round(logs: Path) -> dict:
    database = harness.postgres_database("deliveries")
    children = harness.Children(logs)
    with harness.SmtpSink() as sink:
        env = harness.platform_env(database, EMAIL_URL=sink.url, Q_WORKERS="2")
        try:
            harness.manage(env, "migrate", "--noinput")
            # Queued while no worker runs, then drained: the same shape as the baseline.
            queued = in_child(env, "burst", TICKETS)
            children.start("workers", [sys.executable, "manage.py", "run_workers"], env)
            children.start("scheduler", [sys.executable, "manage.py", "run_scheduler"], env)
            drain = burst_figures(wait_drained(database, queued["after_position"]), sink.count)
            drain["created_in"] = queued["seconds"]
            # Arriving while the workers run: what a burst waits from commit to start.
            sent_before = sink.count
            live = in_child(env, "burst", TICKETS)
            rows = wait_drained(database, live["after_position"])
            arriving = burst_figures(rows, sink.count - sent_before)
            arriving["created_in"] = live["seconds"]
        finally:
            for name in ("workers", "scheduler"):
                if name in children.running:
                    harness.stop_tree(children, name)
            harness.forget_namespace(env["EVENTPLATFORM_NAMESPACE"])
            harness.drop_database(database)
    return {"drain": drain, "live": arriving}


# --- the baseline -----------------------------------------------------------------------------


def noop_round(logs: Path) -> dict:
    database = harness.postgres_database("noop")
    children = harness.Children(logs)
    env = harness.platform_env(database, Q_WORKERS="2")
    namespace = env["EVENTPLATFORM_NAMESPACE"]
    import redis

    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        harness.manage(env, "migrate", "--noinput")
        in_child(env, "noop", NOOP_TASKS)
        children.start("qcluster", [sys.executable, "manage.py", "qcluster"], env)
        harness.wait_until(
            lambda: int(client.hget(noop_key(namespace), "done") or 0) >= NOOP_TASKS,
            timeout=DRAIN_TIMEOUT,
            what=f"{NOOP_TASKS} no-op tasks done",
            interval=0.5,
        )
        stats = client.hgetall(noop_key(namespace))
        window = float(stats[b"last"]) - float(stats[b"first"])
    finally:
        if "qcluster" in children.running:
            harness.stop_tree(children, "qcluster")
        client.close()
        harness.forget_namespace(namespace)
        harness.drop_database(database)
    return {"tasks": int(stats[b"done"]), "window": window, "per_second": NOOP_TASKS / window}


# --- the report -------------------------------------------------------------------------------


OUTCOME_COLUMNS = [
    "burst",
    "deliveries",
    "succeeded",
    "pending",
    "failed",
    "dead",
    "retried",
    "acknowledgements at the SMTP server",
]
METHOD = f"""Two workers (`manage.py run_workers`, Q_WORKERS=2, with `manage.py run_scheduler`
beside them, as in production) on PostgreSQL clear the reactions to {TICKETS} tickets opened
one transaction each through `support.services.ticket_create` by a child process with the
workers' environment; the acknowledgements go to an SMTP server on loopback that counts and
discards them. First burst: the tickets are opened while no worker runs, then the workers
start and drain the queue. Second burst: opened while the workers run. Throughput is the
burst's succeeded deliveries over the span from the first `started_at` to the last
`finished_at` in the `Delivery` table; commit -> start is `started_at` minus the event's
`time`, stamped in its transaction just before the commit. The baseline is django-q2 alone
with the platform's settings and `Q_CLUSTER` (2 workers, `save_limit` -1): {NOOP_TASKS:,}
tasks that only note in Redis that they ran are queued, then a plain `manage.py qcluster`
drains them (first start to last finish). Each round has its own database and Redis
namespace."""


def report(platform: list[dict], noop: list[dict]) -> str:
    drain = [r["drain"] for r in platform]
    live = [r["live"] for r in platform]
    ceiling = [r["per_second"] for r in noop]
    ratios = [p["per_second"] / n for p, n in zip(drain, ceiling, strict=True)]
    live_ratios = [p["per_second"] / n for p, n in zip(live, ceiling, strict=True)]

    def col(rows, key, fmt="{:,.0f}"):
        return harness.spread([r[key] for r in rows], fmt)

    handlers = sorted({h for r in drain + live for h in r["handlers"]})
    per_ticket = ", ".join(
        f"`{h}` {statistics.median(r['handlers'].get(h, 0) for r in drain) / TICKETS:g}"
        for h in handlers
    )
    outcomes = []
    for label, rows in (("queued, then drained", drain), ("arriving while running", live)):
        outcomes.append(
            [
                label,
                f"{sum(r['deliveries'] for r in rows):,}",
                f"{sum(r['succeeded'] for r in rows):,}",
                str(sum(r["pending"] for r in rows)),
                str(sum(r["failed"] for r in rows)),
                str(sum(r["dead"] for r in rows)),
                str(sum(r["retried"] for r in rows)),
                f"{sum(r['emails'] for r in rows):,} of {TICKETS * len(rows):,}",
            ]
        )
    lost = sum(r["deliveries"] - r["succeeded"] for r in drain + live) + sum(
        TICKETS - r["emails"] for r in drain + live
    )
    target = statistics.median(r["per_second"] for r in drain)
    target_live = statistics.median(r["per_second"] for r in live)
    met = "met" if target >= 500 and not lost else "not met"
    missing = "0 lost" if not lost else f"{lost} not succeeded or not mailed"
    verdict = (
        f"**Target >= 500 deliveries/s, 0 lost: {met}** ({target:,.0f}/s draining a queue, "
        f"{target_live:,.0f}/s with the burst arriving while the workers run; {missing})."
    )
    figures = harness.table(
        ["measurement", "platform", "django-q2 no-op tasks", "ratio"],
        [
            [
                "completed per second, queued then drained",
                col(drain, "per_second") + " deliveries/s",
                harness.spread(ceiling) + " tasks/s",
                harness.spread(ratios, "{:.2f}"),
            ],
            ["tickets per second, queued then drained", col(drain, "tickets_per_second"), "", ""],
            [
                "completed per second, burst arriving while running",
                col(live, "per_second") + " deliveries/s",
                "",
                harness.spread(live_ratios, "{:.2f}"),
            ],
            [
                "tickets per second, burst arriving while running",
                col(live, "tickets_per_second"),
                "",
                "",
            ],
            [
                "commit -> start p50, burst arriving while running",
                col(live, "wait_p50_ms", "{:,.0f} ms"),
                "",
                "",
            ],
            [
                "commit -> start p99, burst arriving while running",
                col(live, "wait_p99_ms", "{:,.0f} ms"),
                "",
                "",
            ],
            [
                f"{TICKETS} tickets opened in (one process, one transaction each)",
                col(drain + live, "created_in", "{:.1f} s"),
                "",
                "",
            ],
        ],
    )
    return "\n\n".join(
        [
            "## Worker throughput (`bench/deliveries.py`)",
            METHOD,
            f"Run with `.venv/bin/python bench/deliveries.py`, {len(platform)} round(s), "
            f"platform and baseline alternating; medians with the range over the rounds.",
            f"Machine: {harness.machine()}.",
            figures,
            f"Deliveries per ticket (`SLACK_WEBHOOK_URL` and `CRM_WEBHOOK_URL` unset, so their "
            f"reactions get no delivery): {per_ticket}.",
            harness.table(OUTCOME_COLUMNS, outcomes),
            verdict,
        ]
    )


def main() -> None:
    logs = harness.scratch_dir("deliveries")
    platform, noop = [], []
    for number in range(harness.ROUNDS):
        # Alternate which goes first: the shared cores drift during a run.
        order = [("platform", platform_round), ("noop", noop_round)]
        for name, run in order if number % 2 == 0 else order[::-1]:
            result = run(logs)
            (platform if name == "platform" else noop).append(result)
            print(f"round {number + 1} {name}: {json.dumps(result, default=str)}", flush=True)
    body = report(platform, noop)
    print(body)
    harness.write_section("deliveries", body)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child_main(sys.argv[1], int(sys.argv[2]))
    else:
        main()
