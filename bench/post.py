"""Benchmark: a ticket POST on the platform against a stock Django app that does less.

Each round, the platform and the stock baseline (``bench/stock/``) alternate, each on a new
PostgreSQL database (migrated) and a Redis namespace of its own, served by one uvicorn process
as the Procfile starts it, loaded by wrk on loopback:

- **Platform.** ``POST /api/v1/tickets/`` with a DRF token: the ticket, its event and its
  deliveries are written in one transaction (the outbox); after commit the deliveries'
  tasks are queued on django-q2 and the event is pushed to its audience. No worker runs:
  the tasks wait in Redis, and the namespace is deleted afterwards.
- **Stock, on commit.** ``POST /tickets/``: DRF ``CreateAPIView`` with the same token
  authentication, a ``ModelSerializer`` INSERT, and on commit one ``group_send`` to the
  agents' group and one ``async_task`` (the acknowledgement email).
- **Stock, bare.** ``POST /bare/``: the same view without the on-commit work.

Measured per endpoint: requests per second and latency at concurrency 10 and 50 (10 s each,
after a 3 s warm-up), a load curve (1, 5, 10, 25, 50) for the chart, the server's CPU
seconds per POST, every answer that was not 201, and ``GET /healthz``. Then, on a second
server wired through counting proxies, the SQL statements and Redis commands of 20 POSTs.

    .venv/bin/python bench/post.py                 # BENCH_ROUNDS rounds (3), then the report

Results replace the "ticket_post" section of docs/benchmarks.md and the chart
docs/benchmarks-ticket-post.png.
"""

import asyncio
import json
import os
import re
import socket
import statistics
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import harness  # noqa: E402

CHART = ROOT / "docs" / "benchmarks-ticket-post.png"
WARMUP = 3  # seconds of load before each measured run, not counted
SECONDS = 10  # seconds of each measured run at the table's concurrencies
TABLE_LEVELS = (10, 50)
CURVE_LEVELS = (1, 5, 10, 25, 50)
CURVE_SECONDS = 5  # seconds of each further point of the curve
CURVE_WARMUP = 1
COUNTED_POSTS = 20  # POSTs whose SQL statements and Redis commands are counted
UVICORN_FLAGS = ("--ws-max-size", "4096")  # the Procfile's, beside what Children.uvicorn sets
TICKET = {"subject": "The printer is on fire", "body": "Since this morning. Please send help."}

# The endpoints, by the name the report gives them: (app, path).
ENDPOINTS = {
    "platform": ("platform", "/api/v1/tickets/"),
    "stock": ("stock", "/tickets/"),
    "bare": ("stock", "/bare/"),
}
LABELS = {
    "platform": "platform, full outbox",
    "stock": "stock, on-commit push + task",
    "bare": "stock, bare INSERT",
}
APPS = {
    "platform": {"asgi": "eventplatform.asgi:application", "settings": "eventplatform.settings"},
    "stock": {"asgi": "bench.stock.asgi:application", "settings": "bench.stock.settings"},
}


# --- counting what a server sends PostgreSQL and Redis ----------------------------------------


def statement_name(query: bytes) -> str:
    """A statement as the report names it: its verb, and the table it touches first."""
    text = query.decode(errors="replace").strip()
    verb = (text.split(None, 1) or ["?"])[0].upper()
    table = re.search(r'\b(?:INTO|UPDATE|FROM)\s+"?([\w.]+)"?', text, re.I)
    if verb in {"SELECT", "INSERT", "UPDATE", "DELETE"} and table:
        return f"{verb} {table.group(1)}"
    return verb


class PostgresStatements:
    """Reads the frontend side of the PostgreSQL wire protocol and names each statement run:
    a simple query ('Q'), or an extended-protocol execute ('E') of a parsed statement."""

    STARTUP_V3 = 196608  # SSL and GSS encryption requests come before it, untyped

    def __init__(self) -> None:
        self.buffer = b""
        self.started = False
        self.statements: dict[bytes, bytes] = {}
        self.portals: dict[bytes, bytes] = {}

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        run = []
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return run
                length = int.from_bytes(self.buffer[:4], "big")
                if len(self.buffer) < length:
                    return run
                self.started = int.from_bytes(self.buffer[4:8], "big") == self.STARTUP_V3
                self.buffer = self.buffer[length:]
                continue
            if len(self.buffer) < 5:
                return run
            kind, length = self.buffer[:1], int.from_bytes(self.buffer[1:5], "big")
            if len(self.buffer) < 1 + length:
                return run
            body, self.buffer = self.buffer[5 : 1 + length], self.buffer[1 + length :]
            if kind == b"Q":
                run.append(statement_name(body.rstrip(b"\0")))
            elif kind == b"P":
                name, rest = body.split(b"\0", 1)
                self.statements[name] = rest.split(b"\0", 1)[0]
            elif kind == b"B":
                portal, statement, _ = body.split(b"\0", 2)
                self.portals[portal] = self.statements.get(statement, b"?")
            elif kind == b"E":
                run.append(statement_name(self.portals.get(body.split(b"\0", 1)[0], b"?")))


class RedisCommands:
    """Reads what a client sends Redis (RESP arrays of bulk strings) and names each command."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self.buffer += data
        sent = []
        while (parsed := self._command()) is not None:
            words, self.buffer = parsed
            name = words[0].decode().upper() if words else "?"
            if name in {"CLIENT", "SCRIPT", "CONFIG"} and len(words) > 1:
                name += " " + words[1].decode().upper()
            sent.append(name)
        return sent

    def _command(self) -> tuple[list[bytes], bytes] | None:
        buffer = self.buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            return None
        if buffer[:1] != b"*":  # an inline command: one line of words
            return buffer[:end].split(), buffer[end + 2 :]
        words, at = [], end + 2
        for _ in range(int(buffer[1:end])):
            end = buffer.find(b"\r\n", at)
            if end < 0:
                return None
            size = int(buffer[at + 1 : end])
            if len(buffer) < end + 2 + size + 2:
                return None
            words.append(buffer[end + 2 : end + 2 + size])
            at = end + 2 + size + 2
        return words, buffer[at:]


class Tap:
    """A loopback TCP proxy in front of a server that counts what its clients send: the
    connections they open and the statements or commands ``reader`` finds in their bytes.
    Nothing is changed on the way; answers pass through unread."""

    def __init__(self, upstream_port: int, reader: type) -> None:
        self.upstream_port = upstream_port
        self.reader = reader
        self.sent: Counter = Counter()
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    async def _serve(self, client_in, client_out) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.connections += 1
        reader = self.reader()

        async def pump(source, sink, read) -> None:
            try:
                while data := await source.read(65536):
                    if read:
                        self.sent.update(read(data))
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        await asyncio.gather(
            pump(client_in, server_out, reader.feed), pump(server_in, client_out, None)
        )

    def take(self) -> tuple[Counter, int]:
        """What was sent, and the connections opened, since the last ``take``."""

        async def swap():
            taken = self.sent, self.connections
            self.sent, self.connections = Counter(), 0
            return taken

        return self._call(swap())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


# --- one app's turn in a round ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_env(app: str, database_url: str, **overrides: str) -> dict[str, str]:
    env = harness.platform_env(database_url, DJANGO_SETTINGS_MODULE=APPS[app]["settings"])
    env["BENCH_NAMESPACE"] = env["EVENTPLATFORM_NAMESPACE"]  # the stock app's name for it
    env.update(overrides)
    return env


def prepare(app: str) -> tuple[str, dict[str, str], str]:
    """A new database for ``app``, migrated, with one customer; returns (url, env, token)."""
    url = harness.postgres_database(f"post_{app}")
    env = app_env(app, url)
    harness.manage(env, "migrate", "--noinput")
    token = harness.manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        "user = get_user_model().objects.create_user('bench-customer', 'customer@example.com')\n"
        "print(Token.objects.create(user=user).key)",
    )
    return url, env, token.split()[-1]


def post_script(token: str, tally: Path) -> str:
    """wrk Lua: POST a ticket with the token, and note every answer other than 201 in ``tally``
    (one line each: its status), which is written only when it happens."""
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    lines = ["wrk.method = 'POST'", f"wrk.body = {json.dumps(json.dumps(TICKET))}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    lines += [
        "function response(status, headers, body)",
        "  if status ~= 201 then",
        f"    local f = io.open({json.dumps(str(tally))}, 'a')",
        "    f:write(status, '\\n')",
        "    f:close()",
        "  end",
        "end",
        "",
    ]
    return "\n".join(lines)


def measured(url: str, process, *, connections: int, seconds: int, warmup: int, script: str):
    """One wrk run after a warm-up at the same concurrency, with the server's CPU per request."""
    harness.wrk(url, connections=connections, seconds=warmup, script=script)
    cpu_before = harness.cpu_seconds(process)
    result = harness.wrk(url, connections=connections, seconds=seconds, script=script)
    cpu = harness.cpu_seconds(process) - cpu_before
    result["cpu_ms"] = 1000 * cpu / max(result["requests"], 1)
    return result


def load(app: str, base: str, process, token: str, logs: Path) -> dict:
    """Every wrk measurement of ``app``'s endpoints: {endpoint: {concurrency: result}}, and
    "healthz"; each POST result carries the answers that were not 201."""
    results: dict = {}
    for endpoint, (owner, path) in ENDPOINTS.items():
        if owner != app:
            continue
        results[endpoint] = {}
        for connections in CURVE_LEVELS:
            tally = logs / f"{endpoint}-c{connections}-not-201.txt"
            tally.unlink(missing_ok=True)
            in_table = connections in TABLE_LEVELS
            result = measured(
                base + path,
                process,
                connections=connections,
                seconds=SECONDS if in_table else CURVE_SECONDS,
                warmup=WARMUP if in_table else CURVE_WARMUP,
                script=post_script(token, tally),
            )
            # The warm-up's answers count too: every POST must have been a 201.
            not_201 = tally.read_text().split() if tally.exists() else []
            result["not_201"] = Counter(int(status) for status in not_201)
            results[endpoint][connections] = result
            print(
                f"  {endpoint:8} c{connections:<3} {result['rps']:7.1f} req/s  "
                f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
                f"cpu {result['cpu_ms']:5.2f} ms/req  errors {result['errors']}  "
                f"not 201 {dict(result['not_201'])}",
                flush=True,
            )
    results["healthz"] = measured(
        base + "/healthz", process, connections=10, seconds=SECONDS, warmup=WARMUP, script=""
    )
    print(f"  healthz  c10  {results['healthz']['rps']:7.1f} req/s", flush=True)
    return results


def count_wire(app: str, env: dict, token: str, children: harness.Children) -> dict:
    """SQL statements and Redis commands per POST, counted by proxies in front of PostgreSQL
    and Redis while a second server of ``app`` answers COUNTED_POSTS POSTs one at a time."""
    postgres = Tap(5432, PostgresStatements)
    redis = Tap(6379, RedisCommands)
    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    # The proxies read the protocol: no TLS on the way.
    wired = dict(
        env,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{postgres.port}/{database}?sslmode=disable",
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
    )
    counts = {}
    try:
        base = children.uvicorn(
            f"{app}-wired", APPS[app]["asgi"], free_port(), wired, *UVICORN_FLAGS
        )
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for endpoint, (owner, path) in ENDPOINTS.items():
                if owner != app:
                    continue
                # The first POSTs open the pool's connections and load the channel layer.
                for _ in range(5):
                    client.post(path, json=TICKET).raise_for_status()
                postgres.take(), redis.take()
                statuses = Counter(
                    client.post(path, json=TICKET).status_code for _ in range(COUNTED_POSTS)
                )
                (sql, sql_connections), (commands, redis_connections) = (
                    postgres.take(),
                    redis.take(),
                )
                counts[endpoint] = {
                    "statuses": statuses,
                    "sql": sum(sql.values()) / COUNTED_POSTS,
                    "sql_connections": sql_connections / COUNTED_POSTS,
                    "sql_kinds": {k: v / COUNTED_POSTS for k, v in sql.items()},
                    "redis": sum(commands.values()) / COUNTED_POSTS,
                    "redis_connections": redis_connections / COUNTED_POSTS,
                    "redis_kinds": {k: v / COUNTED_POSTS for k, v in commands.items()},
                }
                print(
                    f"  {endpoint:8} {counts[endpoint]['sql']:.2f} SQL "
                    f"{dict(counts[endpoint]['sql_kinds'])}\n"
                    f"  {'':8} {counts[endpoint]['redis']:.2f} Redis "
                    f"{dict(counts[endpoint]['redis_kinds'])}, "
                    f"{counts[endpoint]['redis_connections']:.2f} connections; "
                    f"statuses {dict(statuses)}",
                    flush=True,
                )
    finally:
        if f"{app}-wired" in children.running:
            children.stop(f"{app}-wired")
        postgres.close()
        redis.close()
    return counts


def turn(app: str, logs: Path) -> dict:
    """One app's part of a round: a new database, the load, the counts; then clean up."""
    print(f"{app}:", flush=True)
    url, env, token = prepare(app)
    children = harness.Children(logs)
    try:
        base = children.uvicorn(app, APPS[app]["asgi"], free_port(), env, *UVICORN_FLAGS)
        figures = load(app, base, children.process(app), token, logs)
        children.stop(app)
        figures["counts"] = count_wire(app, env, token, children)
    finally:
        children.stop_all()
        harness.forget_namespace(env["EVENTPLATFORM_NAMESPACE"])
        harness.drop_database(url)
    return figures


# --- the report -------------------------------------------------------------------------------


def chart(rounds: list[dict]) -> None:
    """Latency p50 and p99 against concurrency, median of the rounds with their range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharex=True)
    styles = {"platform": ("C3", "o"), "stock": ("C0", "s"), "bare": ("C2", "^")}
    for ax, key, title in zip(axes, ("p50_ms", "p99_ms"), ("median (p50)", "p99"), strict=True):
        for endpoint, (colour, marker) in styles.items():
            values = [[r[endpoint][c][key] for r in rounds] for c in CURVE_LEVELS]
            ax.plot(
                CURVE_LEVELS,
                [statistics.median(v) for v in values],
                color=colour,
                marker=marker,
                label=LABELS[endpoint],
            )
            ax.fill_between(
                CURVE_LEVELS,
                [min(v) for v in values],
                [max(v) for v in values],
                color=colour,
                alpha=0.15,
                linewidth=0,
            )
        ax.set_title(f"Ticket POST latency, {title}")
        ax.set_xlabel("concurrent connections (wrk)")
        ax.set_ylabel("latency (ms)")
        ax.set_xticks(CURVE_LEVELS)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=9)
    figure.suptitle(
        f"One uvicorn process each, PostgreSQL and Redis on the same 2 cores; "
        f"median of {len(rounds)} round{'s' if len(rounds) > 1 else ''}, band = min-max",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(CHART, dpi=110)
    plt.close(figure)


def report(rounds: list[dict], load_average: tuple[float, float]) -> str:
    def values(endpoint: str, concurrency: int, key: str) -> list[float]:
        return [r[endpoint][concurrency][key] for r in rounds]

    def ratios(endpoint: str, concurrency: int, key: str, over: str = "stock") -> list[float]:
        return [r[endpoint][concurrency][key] / r[over][concurrency][key] for r in rounds]

    def cpu(endpoint: str) -> list[float]:
        # CPU seconds over both measured runs of the table, per request of both.
        return [
            sum(r[endpoint][c]["cpu_ms"] * r[endpoint][c]["requests"] for c in TABLE_LEVELS)
            / sum(r[endpoint][c]["requests"] for c in TABLE_LEVELS)
            for r in rounds
        ]

    def counted(endpoint: str, key: str) -> list[float]:
        return [r["counts"][endpoint][key] for r in rounds]

    ms, ratio = "{:,.0f}", "{:.2f}"
    rows = []
    for c in TABLE_LEVELS:
        rows.append(
            [f"POST, concurrency {c}: req/s"]
            + [harness.spread(values(e, c, "rps")) for e in ENDPOINTS]
            + [harness.spread(ratios("platform", c, "rps"), ratio)]
        )
        for key, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            rows.append(
                [f"POST, concurrency {c}: latency {name}, ms"]
                + [harness.spread(values(e, c, key), ms) for e in ENDPOINTS]
                + [harness.spread(ratios("platform", c, key), ratio)]
            )
    cpu_ratios = [p / s for p, s in zip(cpu("platform"), cpu("stock"), strict=True)]
    rows.append(
        ["web CPU per POST, ms"]
        + [harness.spread(cpu(e), "{:.2f}") for e in ENDPOINTS]
        + [harness.spread(cpu_ratios, ratio)]
    )
    for key, name in (
        ("sql", "SQL statements per POST"),
        ("redis", "Redis commands per POST"),
        ("redis_connections", "Redis connections opened per POST"),
        ("sql_connections", "PostgreSQL connections opened per POST"),
    ):
        # Counts are exact: one figure when the rounds agree, their spread when they do not.
        rows.append(
            [name]
            + [
                f"{counted(e, key)[0]:g}"
                if len(set(counted(e, key))) == 1
                else harness.spread(counted(e, key), "{:g}")
                for e in ENDPOINTS
            ]
            + [""]
        )
    healthz = {app: [r["healthz"][app]["rps"] for r in rounds] for app in APPS}
    healthz_ratios = [p / s for p, s in zip(healthz["platform"], healthz["stock"], strict=True)]
    rows.append(
        [
            "`GET /healthz`, concurrency 10: req/s",
            harness.spread(healthz["platform"]),
            harness.spread(healthz["stock"]),
            "",
            harness.spread(healthz_ratios, ratio),
        ]
    )
    header = ["measurement", *(LABELS[e] for e in ENDPOINTS), "platform / stock on-commit"]

    post_ratio = {c: statistics.median(ratios("platform", c, "rps")) for c in TABLE_LEVELS}
    p99_ratio = statistics.median(ratios("platform", 50, "p99_ms"))

    def verdict(met: bool) -> str:
        return "**met**" if met else "**not met**"

    targets = [
        f"- Ticket POST >= 0.8x the stock on-commit app: {post_ratio[10]:.2f}x at concurrency "
        f"10 and {post_ratio[50]:.2f}x at 50 (medians of the rounds' ratios): "
        f"{verdict(min(post_ratio.values()) >= 0.8)}.",
        f"- p99 at concurrency 50 <= 2x stock's: {p99_ratio:.2f}x: {verdict(p99_ratio <= 2)}.",
    ]

    checks = []
    for endpoint in ENDPOINTS:
        total = sum(r[endpoint][c]["requests"] for r in rounds for c in CURVE_LEVELS)
        errors = sum(r[endpoint][c]["errors"] for r in rounds for c in CURVE_LEVELS)
        not_201 = Counter()
        for r in rounds:
            for c in CURVE_LEVELS:
                not_201.update(r[endpoint][c]["not_201"])
            not_201.update({s: n for s, n in r["counts"][endpoint]["statuses"].items() if s != 201})
        answers = ", ".join(f"{n} x {s}" for s, n in sorted(not_201.items())) or "none"
        checks.append(
            f"- {LABELS[endpoint]}: {total:,} measured POSTs; {errors} wrk errors; answers "
            f"other than 201: {answers}."
        )

    def kinds(endpoint: str, key: str) -> str:
        # The first round's breakdown; the table shows whether the rounds agree.
        found = rounds[0]["counts"][endpoint][key]
        return ", ".join(f"{k} ({v:g})" if v != 1 else k for k, v in found.items()) or "none"

    breakdown = [
        f"- {LABELS[e]}: SQL: {kinds(e, 'sql_kinds')}. Redis: {kinds(e, 'redis_kinds')}."
        for e in ENDPOINTS
    ]
    levels = " and ".join(map(str, TABLE_LEVELS))
    rounds_said = f"{len(rounds)} round" + ("s" if len(rounds) > 1 else "")
    parts = [
        "## Ticket POST against a stock Django app (`bench/post.py`)",
        "What one ticket POST costs the web process. Each round runs the platform and a minimal "
        "stock Django + Channels + django-q2 app (`bench/stock/`) one after the other (which "
        "goes first alternates), each on a new PostgreSQL database and Redis namespace, served "
        "by one uvicorn process started as the Procfile starts it (the platform's with its own "
        "threshold for Python's collector, `eventplatform/asgi.py`; stock's with Python's "
        "default), loaded by wrk (one thread, keep-alive) with the same JSON body and a DRF "
        "token:",
        [
            "- **platform** `POST /api/v1/tickets/`: the ticket, its event and its deliveries in "
            "one transaction (the outbox); after commit, the deliveries' tasks go to django-q2 "
            "and the event to its live audience. No worker runs during the load: the tasks wait "
            "in Redis.",
            "- **stock on-commit** `POST /tickets/`: a DRF `CreateAPIView` with "
            "`TokenAuthentication` and a `ModelSerializer`: one INSERT, then on commit one "
            "`group_send` to the agents' group and one `async_task` (the acknowledgement email).",
            "- **stock bare** `POST /bare/`: the same view without the on-commit work.",
        ],
        f"Concurrency {levels}: {SECONDS} s each after a {WARMUP} s warm-up; the other points "
        f"of the chart {CURVE_SECONDS} s each after {CURVE_WARMUP} s. Web CPU is the server "
        f"process's CPU time over the measured runs at concurrency {levels}, per "
        "request. SQL statements and Redis commands are counted exactly over "
        f"{COUNTED_POSTS} POSTs sent one at a time to a second server of the same app whose "
        "PostgreSQL and Redis connections pass through counting proxies: every simple query "
        "or extended-protocol execute (BEGIN and COMMIT included), every Redis command (a Lua "
        "script counts as one). Figures are the median of "
        f"{rounds_said}, with the range in brackets; a ratio is taken within each round, then "
        "the median of the rounds' ratios is shown.",
        f"Machine: {harness.machine()}. Load average (1 min) at the start and the end: "
        f"{load_average[0]:.1f}, {load_average[1]:.1f}: other work shared the cores.",
        harness.table(header, rows),
        "![Ticket POST latency against concurrency](benchmarks-ticket-post.png)",
        "Targets:",
        targets,
        "Every answer was checked (wrk errors: connect, read, write, timeout, or a status of "
        "400 or more; answers other than 201 include the warm-ups and the counted POSTs):",
        checks,
        "The statements and commands of one POST:",
        breakdown,
        "What the comparison leaves uneven: the platform writes the event, its audience and "
        "its deliveries and queues a task per delivery, where the stock app writes the ticket, "
        "pushes it once and queues one task; that difference is the work being compared. The "
        "stock app runs `startproject`'s middleware; the platform adds its own (request id, "
        "Content-Security-Policy, static files). The stock app calls `async_task` as "
        "django-q2's documentation shows, which opens a Redis connection per call (the platform "
        "shares one broker). The stock view runs in autocommit, so its on-commit work runs "
        "right after the INSERT, with no BEGIN or COMMIT.",
    ]
    return "\n\n".join(wrapped(part) for part in parts)


def wrapped(part: str | list[str]) -> str:
    """Prose wrapped as the rest of the page is; a list is a bulleted one. Headings, tables
    and images stay as they are."""
    if isinstance(part, list):
        return "\n".join(textwrap.fill(item, 99, subsequent_indent="  ") for item in part)
    if part.startswith(("#", "|", "!")):
        return part
    return textwrap.fill(part, 99)


def main() -> None:
    harness.ensure_wrk()
    logs = harness.scratch_dir("post")
    print(f"logs in {logs}", flush=True)
    load_start = os.getloadavg()[0]
    rounds = []
    for number in range(harness.ROUNDS):
        order = ["platform", "stock"] if number % 2 == 0 else ["stock", "platform"]
        print(f"round {number + 1} of {harness.ROUNDS}", flush=True)
        figures = {app: turn(app, logs) for app in order}
        rounds.append(
            {
                **figures["platform"],
                **{e: figures["stock"][e] for e in ("stock", "bare")},
                "healthz": {app: figures[app]["healthz"] for app in APPS},
                "counts": {**figures["platform"]["counts"], **figures["stock"]["counts"]},
            }
        )
    chart(rounds)
    harness.write_section("ticket_post", report(rounds, (load_start, os.getloadavg()[0])))
    print(f"wrote {harness.REPORT} and {CHART}", flush=True)


if __name__ == "__main__":
    main()
