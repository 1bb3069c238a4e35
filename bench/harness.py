"""What every benchmark shares: scratch databases, child processes, wrk, and the report.

Each benchmark is a script that starts what it measures on loopback, runs the platform and its
baseline in alternating rounds (the two cores are shared and noisy, so only figures taken side
by side compare), and replaces its own section of docs/benchmarks.md.
"""

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
POSTGRES = "postgres://postgres@127.0.0.1:5432"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))


def postgres_database(prefix: str) -> str:
    """A new, empty PostgreSQL database; returns its URL. ``drop_database`` removes it."""
    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True, capture_output=True
    )
    return f"{POSTGRES}/{name}"


def drop_database(url: str) -> None:
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", url.rsplit("/", 1)[1]],
        check=False,
        capture_output=True,
    )


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows ``sql`` returns from the database at ``url`` (no Django needed)."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as connection:
        return connection.execute(sql, params).fetchall()


def forget_namespace(namespace: str, redis_url: str = "redis://127.0.0.1:6379/0") -> int:
    """Delete every Redis key that names ``namespace`` (queues, groups, cache, locks, django-q2's
    statistics); returns how many there were."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{namespace}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    client.close()
    return len(keys)


class SmtpSink:
    """An SMTP server on a free loopback port that counts what it receives and keeps nothing.

    ``on_message(received_at, content)`` is called with each message's bytes and the Unix time
    its DATA ended, on the server's thread.
    """

    def __init__(self, on_message=None) -> None:
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.count = 0
        self.on_message = on_message
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        received_at = time.time()
        self.count += 1
        if self.on_message:
            self.on_message(received_at, envelope.content)
        return "250 OK"

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def platform_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The platform's environment as production sets it, on loopback and a namespace of its own."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "EVENTPLATFORM_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "SLACK_WEBHOOK_URL": "",
        "CRM_WEBHOOK_URL": "",
        "PYTHONPATH": str(ROOT),
        **overrides,
    }


def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py`` with ``env``; returns what it printed."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


class Children:
    """Named child processes, each in a process group of its own, logging to ``logs``."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> psutil.Process:
        log = (self.logs / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return psutil.Process(self.running[name].pid)

    def uvicorn(self, name: str, app: str, port: int, env: dict[str, str], *flags: str) -> str:
        """An ASGI server as the Procfile starts one; returns its URL once it answers.

        Raises if something listens on ``port`` already: a server left by an earlier run
        would answer in its place, and be measured for it.
        """
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise RuntimeError(f"port {port} is taken: stop what listens on it") from error
        self.start(
            name,
            [
                sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                "--lifespan", "off", "--no-access-log", *flags,
            ],
            env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(url + "/healthz"), timeout=30, what=f"{name} serving")
        return url

    def process(self, name: str) -> psutil.Process:
        return psutil.Process(self.running[name].pid)

    def stop(self, name: str) -> None:
        child = self.running.pop(name)
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=8)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def stop_tree(children: Children, name: str) -> None:
    """Stop child ``name`` and whatever it started, even in process groups of its own (the
    worker supervisor runs its cluster in one)."""
    try:
        descendants = children.process(name).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    children.stop(name)
    for process in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise RuntimeError(f"not {what} within {timeout} s")


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of ``process`` and its children so far, as Linux counts each of their threads'
    time on a CPU in nanoseconds (``/proc/<pid>/task/<tid>/schedstat``). User and system times
    come in whole 10 ms ticks: an idle process's few milliseconds a second would round to 0 or
    10. A thread that ended takes its time with it; the processes measured keep theirs."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        for stat in Path(f"/proc/{p.pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError):  # the thread or process ended meanwhile
                total += int(stat.read_text().split()[0])
    return total / 1e9


def kernel_seconds(process: psutil.Process) -> float:
    """System time of ``process`` and its children so far, as Linux counts it (in 10 ms ticks:
    seconds of it, over a measurement, are read to a hundredth)."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.cpu_times().system
    return total


def ensure_wrk() -> str:
    """wrk, from Debian's packages when the machine lacks it."""
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk")


WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %d, \\"seconds\\": %f, \\"errors\\": %d, "
    .. "\\"p50_ms\\": %f, \\"p90_ms\\": %f, \\"p99_ms\\": %f}\\n",
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000))
end
"""


def wrk(url: str, *, connections: int, seconds: int, script: str = "") -> dict:
    """Load ``url`` with wrk on 1 thread; ``script`` is Lua that shapes the requests.

    Returns requests, seconds, errors (connect, read, write, timeouts and non-2xx/3xx answers),
    requests per second, and latency p50/p90/p99 in milliseconds.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + WRK_REPORT)
    done = subprocess.run(
        [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", lua.name, url],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(lua.name)
    found = re.search(r"^WRK_JSON (.*)$", done.stdout, re.M)
    if not found:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    result = json.loads(found.group(1))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """The median of ``values`` with their range: '235 (226-241)'."""
    if len(values) == 1:
        return fmt.format(values[0])
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}-{fmt.format(max(values))})"
    )


def machine() -> str:
    """One line naming the machine, the software and the settings the figures were taken with."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    postgres = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    redis = re.search(r"v=(\S+)", redis).group(1) if "v=" in redis else "?"
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("Django", "channels", "channels-redis", "django-q2", "uvicorn", "psycopg")
    )
    return (
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({model}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, PostgreSQL {postgres}, "
        f"Redis {redis}; {packages}"
    )


def write_section(name: str, body: str) -> None:
    """Replace the section ``name`` of docs/benchmarks.md (between its markers) with ``body``,
    or add it at the end."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{body.strip()}\n{end}"
    text = REPORT.read_text()
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    REPORT.write_text(text)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; columns after the first are right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
