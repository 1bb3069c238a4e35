"""Benchmark: a ticket's acknowledgement email by event against by polling, and what each
approach costs while nothing happens.

Each round, in alternating order:

- **Platform.** A new PostgreSQL database; the web server (uvicorn, as the Procfile starts
  it), two workers (``manage.py run_workers``, Q_WORKERS=2) and the scheduler
  (``manage.py run_scheduler``); acknowledgements go to an SMTP server on loopback.
- **Poller.** Another new database with the same web server and no workers: ``bench/poller.py``
  scans for new tickets every 1 s, then (a fresh process) every 5 s, and sends the same
  acknowledgement through ``support.emails``.

For each, one customer posts a ticket a second for SECONDS seconds through
``POST /api/v1/tickets/`` (at a random point within each second, so that posts do not keep
one phase against a poller's ticks). The SMTP server notes when each acknowledgement's DATA
ends and matches it by the ticket reference in its subject. Latency runs from the commit (the
ticket's ``support.ticket.created.v1`` event ``time``, stamped in the ticket's transaction
just before it commits, the same for both approaches since both databases are written by the
same web server) and, for the client's view, from the moment the POST was sent. Then, after
SETTLE seconds, the CPU time of each process over IDLE_SECONDS with no traffic. In the first
round, py-spy samples the idle platform processes: what wakes them.

    .venv/bin/python bench/ack_latency.py          # BENCH_ROUNDS rounds (3), then the report

Results replace the "ack_latency" section of docs/benchmarks.md.
"""

import email.parser
import email.policy
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import harness  # noqa: E402

SECONDS = int(os.environ.get("BENCH_ACK_SECONDS", "40"))  # one ticket a second for this long
POLL_EVERY = (1, 5)
SETTLE = 5  # seconds after the last email before idle CPU is measured
IDLE_SECONDS = 30
PROFILE_SECONDS = 20
PROFILE_RATE = 200  # samples a second
MAIL_WAIT = 15  # seconds past the last post (and a poller's period) for the last email
PY_SPY = Path(sys.executable).parent / "py-spy"
REFERENCE = re.compile(r"\[(T-\d+)\]")
OWN_CODE = re.compile(r"\((?:.*/)?(?:eventplatform|support|django_q)/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """When each acknowledgement arrived, by the ticket reference in its subject."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    def __call__(self, received_at: float, content: bytes) -> None:
        found = REFERENCE.search(str(self.parser.parsebytes(content)["subject"]))
        if found:
            self.received.setdefault(found.group(1), received_at)


def customer_token() -> None:
    """In a child process with the round's environment: a customer with an email address and
    an API token; prints the token."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventplatform.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    customer = get_user_model().objects.create_user(
        "bench-customer", email="customer@bench.example", password=None
    )
    print(Token.objects.create(user=customer).key)


def prepare(env: dict[str, str]) -> str:
    """Migrate the round's database and return a customer's API token."""
    harness.manage(env, "migrate", "--noinput")
    done = subprocess.run(
        [sys.executable, __file__, "customer"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def drive(url: str, token: str, seed: int) -> dict[str, dict]:
    """Post one ticket a second for SECONDS seconds; returns each by reference, with when its
    POST was sent and answered (Unix time)."""
    rng = random.Random(seed)
    posts = {}
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Token {token}"}, timeout=30
    ) as client:
        start = time.monotonic() + 0.5
        for n in range(SECONDS):
            time.sleep(max(0.0, start + n + rng.random() - time.monotonic()))
            sent = time.time()
            answer = client.post(
                "/api/v1/tickets/",
                json={"subject": f"Invoice {n} is wrong", "body": "I was charged twice."},
            )
            answered = time.time()
            answer.raise_for_status()
            ticket = answer.json()
            posts[ticket["reference"]] = {"id": ticket["id"], "sent": sent, "answered": answered}
    return posts


def collect(database: str, posts: dict[str, dict], mailbox: Mailbox, wait: float) -> dict:
    """Wait for the acknowledgements, then the latencies in milliseconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(ref not in mailbox.received for ref in posts):
        time.sleep(0.1)
    committed = dict(
        harness.query(
            database,
            "SELECT (payload->>'ticket_id')::bigint, extract(epoch FROM time)::float8 "
            "FROM events_event WHERE type = 'support.ticket.created.v1'",
        )
    )
    from_commit, from_post, post = [], [], []
    for reference, ticket in posts.items():
        post.append((ticket["answered"] - ticket["sent"]) * 1000)
        if reference in mailbox.received:
            at = mailbox.received[reference]
            from_commit.append((at - committed[ticket["id"]]) * 1000)
            from_post.append((at - ticket["sent"]) * 1000)
    return {
        "posted": len(posts),
        "received": len(from_commit),
        "commit_p50": harness.percentile(from_commit, 50),
        "commit_p99": harness.percentile(from_commit, 99),
        "post_p50": harness.percentile(from_post, 50),
        "post_p99": harness.percentile(from_post, 99),
        "answer_p50": harness.percentile(post, 50),
    }


def stages(database: str, posts: dict[str, dict], mailbox: Mailbox) -> dict:
    """The platform's latency in two, from its ``Delivery`` rows: commit -> a worker starts the
    acknowledgement's delivery (``started_at``), and that start -> the email's arrival."""
    rows = harness.query(
        database,
        "SELECT (event.payload->>'ticket_id')::bigint, extract(epoch FROM event.time)::float8, "
        "extract(epoch FROM delivery.started_at)::float8 FROM events_delivery delivery "
        "JOIN events_event event ON event.position = delivery.event_id "
        "WHERE delivery.handler = 'support.acknowledgement-email'",
    )
    started_at = {ticket_id: (committed, started) for ticket_id, committed, started in rows}
    to_start, to_email = [], []
    for reference, ticket in posts.items():
        if reference in mailbox.received and ticket["id"] in started_at:
            committed, started = started_at[ticket["id"]]
            to_start.append((started - committed) * 1000)
            to_email.append((mailbox.received[reference] - started) * 1000)
    return {
        "start_p50": harness.percentile(to_start, 50),
        "email_p50": harness.percentile(to_email, 50),
    }


def idle_cpu(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """CPU time of each process tree over IDLE_SECONDS, as percent of one core."""
    before = {name: harness.cpu_seconds(p) for name, p in processes.items()}
    time.sleep(IDLE_SECONDS)
    return {
        name: (harness.cpu_seconds(p) - before[name]) / IDLE_SECONDS * 100
        for name, p in processes.items()
    }


def profile_idle(processes: dict[str, psutil.Process], scratch: Path) -> list[tuple]:
    """py-spy samples of the idle processes (and their children): where the CPU goes.

    Returns (process, function, samples) for the functions where samples end, most first;
    py-spy counts only samples of threads that are running, not waiting."""
    runs = {}
    for name, process in processes.items():
        output = scratch / f"idle-{name}.txt"
        runs[name] = (
            subprocess.Popen(
                [
                    str(PY_SPY), "record", "--pid", str(process.pid),
                    "--duration", str(PROFILE_SECONDS), "--rate", str(PROFILE_RATE),
                    "--format", "raw", "--nonblocking", "--subprocesses", "--output", str(output),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
            output,
        )  # fmt: skip
    counts: Counter = Counter()
    for name, (spy, output) in runs.items():
        spy.wait(timeout=PROFILE_SECONDS + 30)
        if not output.exists():
            continue
        for line in output.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            if not stack or not samples.isdigit():
                continue
            counts[(name, role(stack), hot_frame(stack))] += int(samples)
    return [(*key, samples) for key, samples in counts.most_common()]


def role(stack: str) -> str:
    """Which process of a cluster a stack belongs to: the function its fork started (the
    sentinel, a worker, the monitor, the pusher); empty for a process started as a command."""
    frames = stack.split(";")
    forks = [i for i, frame in enumerate(frames) if frame.startswith("BaseProcess.run (")]
    if not forks or forks[-1] + 1 >= len(frames):
        return ""
    return frames[forks[-1] + 1].split(" (", 1)[0].replace(".__init__", "")


def hot_frame(stack: str) -> str:
    """The innermost frame of the platform's or django-q2's code, else the innermost one,
    without line numbers: what the process was doing when sampled."""
    frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
    for frame in reversed(frames):
        if OWN_CODE.search(frame) and "management/commands" not in frame:
            return short(frame)
    return short(frames[-1]) if frames else "?"


def short(frame: str) -> str:
    found = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", frame)
    if not found:
        return frame
    function, path = found.groups()
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{function} ({path})"


# --- rounds -----------------------------------------------------------------------------------


def platform_round(logs: Path, seed: int, profile: bool) -> dict:
    database = harness.postgres_database("ack")
    logs = logs / f"platform-{seed}"
    logs.mkdir()
    children = harness.Children(logs)
    mailbox = Mailbox()
    with harness.SmtpSink(mailbox) as sink:
        env = harness.platform_env(database, EMAIL_URL=sink.url, Q_WORKERS="2")
        try:
            token = prepare(env)
            url = children.uvicorn(
                "web", "eventplatform.asgi:application", free_port(), env, "--ws-max-size", "4096"
            )
            children.start("workers", [sys.executable, "manage.py", "run_workers"], env)
            children.start("scheduler", [sys.executable, "manage.py", "run_scheduler"], env)
            harness.wait_until(
                lambda: harness.answers(url + "/readyz"), timeout=60, what="platform ready"
            )
            posts = drive(url, token, seed)
            result = collect(database, posts, mailbox, MAIL_WAIT)
            result.update(stages(database, posts, mailbox))
            time.sleep(SETTLE)
            processes = {name: children.process(name) for name in ("workers", "scheduler", "web")}
            result["idle"] = idle_cpu(processes)
            result["profile"] = profile_idle(processes, logs) if profile else []
        finally:
            stop_all(children)
            harness.forget_namespace(env["EVENTPLATFORM_NAMESPACE"])
            harness.drop_database(database)
    return result


def poller_round(logs: Path, seed: int) -> dict[int, dict]:
    database = harness.postgres_database("poll")
    logs = logs / f"poller-{seed}"
    logs.mkdir()
    children = harness.Children(logs)
    env = harness.platform_env(database)
    results = {}
    try:
        token = prepare(env)
        url = children.uvicorn(
            "web", "eventplatform.asgi:application", free_port(), env, "--ws-max-size", "4096"
        )
        for every in POLL_EVERY:
            mailbox = Mailbox()
            with harness.SmtpSink(mailbox) as sink:
                newest = harness.query(database, "SELECT coalesce(max(id), 0) FROM support_ticket")
                name = f"poller-{every}"
                poller = children.start(
                    name,
                    [
                        sys.executable, str(ROOT / "bench" / "poller.py"), "--every", str(every),
                        "--after", str(newest[0][0]),
                    ],
                    {**env, "EMAIL_URL": sink.url},
                )  # fmt: skip
                log = logs / f"{name}.log"
                harness.wait_until(
                    lambda log=log: log.exists() and "polling every" in log.read_text(),
                    timeout=60,
                    what=f"{name} polling",
                )
                result = collect(database, drive(url, token, seed), mailbox, MAIL_WAIT + every)
                time.sleep(SETTLE)
                result["idle"] = idle_cpu({"poller": poller, "web": children.process("web")})
                children.stop(name)
            results[every] = result
    finally:
        stop_all(children)
        harness.forget_namespace(env["EVENTPLATFORM_NAMESPACE"])
        harness.drop_database(database)
    return results


def stop_all(children: harness.Children) -> None:
    for name in list(children.running):
        harness.stop_tree(children, name)


# --- the report -------------------------------------------------------------------------------


def report(platform: list[dict], pollers: list[dict[int, dict]]) -> str:
    approaches = [("platform: web + 2 workers + scheduler", platform)] + [
        (f"poller every {every} s (+ web)", [r[every] for r in pollers]) for every in POLL_EVERY
    ]

    def ms(rows, key):
        return harness.spread([r[key] for r in rows], "{:,.1f} ms")

    latency_rows = [
        [
            label,
            ms(rows, "commit_p50"),
            ms(rows, "commit_p99"),
            ms(rows, "post_p50"),
            ms(rows, "post_p99"),
            ms(rows, "answer_p50"),
            f"{sum(r['received'] for r in rows)} of {sum(r['posted'] for r in rows)}",
        ]
        for label, rows in approaches
    ]
    reactions = [r["idle"]["workers"] + r["idle"]["scheduler"] for r in platform]
    poll_cpu = {every: [r[every]["idle"]["poller"] for r in pollers] for every in POLL_EVERY}

    def pct(values):
        return harness.spread(values, "{:.2f} %")

    idle_rows = [
        [
            "platform",
            "workers " + pct([r["idle"]["workers"] for r in platform]) + ", scheduler "
            + pct([r["idle"]["scheduler"] for r in platform]) + ": " + pct(reactions),
            pct([r["idle"]["web"] for r in platform]),
            harness.spread([v * 0.6 for v in reactions], "{:.2f}"),
        ]
    ] + [
        [
            f"poller every {every} s",
            pct(poll_cpu[every]),
            pct([r[every]["idle"]["web"] for r in pollers]),
            harness.spread([v * 0.6 for v in poll_cpu[every]], "{:.2f}"),
        ]
        for every in POLL_EVERY
    ]  # fmt: skip

    rank = min(SECONDS, max(1, round(0.99 * SECONDS)))  # as harness.percentile ranks
    p50 = statistics.median(r["commit_p50"] for r in platform)
    lost = sum(r["posted"] - r["received"] for _, rows in approaches for r in rows)
    speedup = [p[1]["commit_p50"] / r["commit_p50"] for p, r in zip(pollers, platform, strict=True)]
    idle_ratio = [a / b if b else float("inf") for a, b in zip(reactions, poll_cpu[1], strict=True)]
    lower = statistics.median(reactions) < statistics.median(poll_cpu[1])
    verdicts = [
        f"- Commit -> acknowledgement p50 <= 10 ms: **{'met' if p50 <= 10 else 'not met'}** "
        f"({p50:,.1f} ms).",
        f"- >= 50x lower than the 1 s poller in the same round: "
        f"**{'met' if statistics.median(speedup) >= 50 else 'not met'}** "
        f"({harness.spread(speedup, '{:,.0f}x')}).",
        f"- Lower idle CPU than the 1 s poller: **{'met' if lower else 'not met'}** (workers + "
        f"scheduler use {harness.spread(idle_ratio, '{:,.1f}x')} the poller's CPU at idle).",
        f"- Acknowledgements lost: {lost}.",
    ]
    parts = [
        "## Acknowledgement by event or by polling (`bench/ack_latency.py`)",
        METHOD,
        f"Run with `.venv/bin/python bench/ack_latency.py`, {len(platform)} round(s), the "
        f"approaches in alternating order; {SECONDS} tickets per approach and round, so a "
        f"round's p99 is its {'slowest' if rank == SECONDS else f'{SECONDS - rank + 1}th slowest'} "
        f"email; medians with the range over the rounds.",
        f"Machine: {harness.machine()}.",
        harness.table(LATENCY_COLUMNS, latency_rows),
        "The platform's p50 in two, from its `Delivery` rows: commit -> a worker starts the "
        "acknowledgement's delivery (its `started_at`: the push and the task pipeline after "
        "the commit, django-q2's pusher handing the task to a worker) "
        f"{harness.spread([r['start_p50'] for r in platform], '{:,.1f} ms')}; that start -> "
        "the email at the SMTP server (the claim's UPDATE, reading the ticket, rendering, the "
        "SMTP exchange; the rules and the SLA targets as the worker keeps them) "
        f"{harness.spread([r['email_p50'] for r in platform], '{:,.1f} ms')}.",
        f"Idle, {IDLE_SECONDS} s with no traffic, {SETTLE} s after the last email (CPU time of "
        "each process and its children, counted in nanoseconds by Linux's scheduler, in "
        "percent of one core):",
        harness.table(
            ["approach", "what reacts to tickets", "web server", "reactions, CPU-s per minute"],
            idle_rows,
        ),
        "\n".join(verdicts),
    ]
    profile = next((r["profile"] for r in platform if r["profile"]), [])
    if profile and not lower:
        total = sum(samples for *_, samples in profile) or 1
        parts.append(
            f"What runs in the idle platform: py-spy sampled its processes and their children "
            f"for {PROFILE_SECONDS} s at {PROFILE_RATE} samples/s, keeping the samples of threads "
            f"it saw running ({total} in all; a thread caught on its way into a wait counts "
            f"too). Each row is the innermost function of the platform's or django-q2's code on "
            f"the sampled stack, else the innermost function; CPU is samples over the window."
        )
        parts.append(
            harness.table(
                ["process", "function", "samples", "share", "CPU, ms per s"],
                [
                    [
                        f"{name} ({part})" if part else name,
                        f"`{function}`",
                        str(samples),
                        f"{samples / total:.0%}",
                        f"{samples / PROFILE_RATE / PROFILE_SECONDS * 1000:.1f}",
                    ]
                    for name, part, function, samples in profile[:15]
                ],
            )
        )
    return "\n\n".join(parts)


LATENCY_COLUMNS = [
    "approach",
    "commit -> email p50",
    "commit -> email p99",
    "POST sent -> email p50",
    "POST sent -> email p99",
    "POST answered p50",
    "emails received",
]
METHOD = f"""The platform (uvicorn, `manage.py run_workers` with Q_WORKERS=2, and
`manage.py run_scheduler`) and a polling loop (`bench/poller.py`, every 1 s and every 5 s, the
same acknowledgement through `support.emails`, as its own process beside the same web server,
with no workers) each get {SECONDS} tickets, one a second at a random point within each second,
through `POST /api/v1/tickets/`, on a database of their own. An SMTP server on loopback stamps
each acknowledgement as its DATA ends and matches it to its ticket by the reference in the
subject. "Commit" is the `time` of the ticket's `support.ticket.created.v1` event, stamped in
the ticket's transaction just before its commit (the poller's database is written by the same
web server, so it has the same stamp). Idle CPU covers the processes each approach needs to
react: workers (the supervisor, the django-q2 cluster and its processes) and scheduler, or the
poller; the web server, idle in both, is shown apart."""


def main() -> None:
    logs = harness.scratch_dir("ack")
    platform, pollers = [], []
    for number in range(harness.ROUNDS):
        seed = number
        order = ["platform", "poller"] if number % 2 == 0 else ["poller", "platform"]
        for name in order:
            if name == "platform":
                platform.append(platform_round(logs, seed, profile=number == 0))
                result = {k: v for k, v in platform[-1].items() if k != "profile"}
            else:
                pollers.append(poller_round(logs, seed))
                result = pollers[-1]
            print(f"round {number + 1} {name}: {json.dumps(result)}", flush=True)
    body = report(platform, pollers)
    print(body)
    harness.write_section("ack_latency", body)


if __name__ == "__main__":
    if sys.argv[1:] == ["customer"]:
        customer_token()
    else:
        main()
