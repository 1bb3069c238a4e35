"""Benchmark: the live stream against stock Channels group fan-out, side by side.

Each round starts the platform (``eventplatform.asgi``) and the stock baseline
(``bench.stock.asgi``: a consumer joining group ``agents``, one ``group_send`` per event) in
turn, each as one uvicorn process on loopback, and measures on each:

- fan-out: 1,000 sockets x 20 events/s and 100 x 100 for 10 s; messages delivered of those
  expected, latency from publish to receipt, server CPU per delivered message;
- idle sockets: the server's RSS growth per socket over 1,000 idle sockets;
- a reconnect storm: 3,000 sockets dropping and reconnecting at once while a probe measures
  the API (``/healthz`` and, on the platform, a token-authenticated ``GET /api/v1/tickets/``);
- a close storm: 6,000 sockets closing at once while one probe measures how long the
  server's event loop went without reading (a WebSocket ping's wait for its pong) and another
  the longest ``/healthz`` answer, and the server's CPU per socket closed.

The sockets are read by client processes that speak just enough WebSocket to count frames and
read each message's publish time, offering permessage-deflate as browsers do; the platform's
server runs with ``--ws-per-message-deflate false`` as the Procfile should start it.

    .venv/bin/python bench/stream_fanout.py                    # both apps, every measurement
    .venv/bin/python bench/stream_fanout.py --apps platform --measure fanout --no-report
"""

import argparse
import asyncio
import base64
import math
import multiprocessing
import os
import resource
import signal
import socket
import statistics
import sys
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness

CLIENT_PROCESSES = 3
FANOUTS = [(1000, 20), (100, 100)]  # (sockets, events per second)
FANOUT_SECONDS = 10
DRAIN_SECONDS = 15  # allowed after the last publish for the stragglers
IDLE_SOCKETS = 1000
STORM_SOCKETS = 3000
CLOSE_SOCKETS = 6000
SOCKETS_PER_USER = 10  # the platform's EVENTS["SOCKETS_PER_USER"] default
PLATFORM_FLAGS = ["--ws-max-size", "4096", "--ws-per-message-deflate", "false"]
MEASUREMENTS = ["fanout", "idle", "storm", "close"]


# The client side: processes holding sockets, each counting what its sockets receive.


def next_frame(buffer: bytes | bytearray) -> tuple[int, bytes, int] | None:
    """The first whole frame a server sent in ``buffer`` (a server masks nothing): its first
    byte (FIN, RSV1 and the opcode), its payload and its size; None until all of it arrived."""
    if len(buffer) < 2:
        return None
    length, start = buffer[1] & 0x7F, 2
    if length == 126:
        length, start = int.from_bytes(buffer[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(buffer[2:10], "big"), 10
    if len(buffer) < start + length:
        return None
    return buffer[0], bytes(buffer[start : start + length]), start + length


def pong(payload: bytes) -> bytes:
    """A client's answer to a ping carrying ``payload``, masked with a zero key."""
    return bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


class Reader(asyncio.Protocol):
    """One WebSocket client: a handshake offering permessage-deflate, then frames counted.

    Each message carries ``"n": <publish time in microseconds>``; its latency is recorded.
    """

    def __init__(self, client: "Client", request: bytes) -> None:
        self.client = client
        self.request = request
        self.buffer = bytearray()
        self.upgraded = False
        self.inflate = None
        self.close_code: int | None = None
        self.opened = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            head, found, rest = bytes(self.buffer).partition(b"\r\n\r\n")
            if not found:
                return
            if b" 101 " not in head.split(b"\r\n", 1)[0]:
                self._closed(403)
                return
            if b"permessage-deflate" in head.lower():
                self.inflate = zlib.decompressobj(wbits=-15)
            self.upgraded = True
            self.buffer = bytearray(rest)
            if not self.opened.done():
                self.opened.set_result(True)
        self._frames()

    def _frames(self) -> None:
        while (frame := next_frame(self.buffer)) is not None:
            first, payload, size = frame
            del self.buffer[:size]
            opcode = first & 0x0F
            if opcode == 1:
                if first & 0x40:  # compressed (RSV1)
                    payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
                self.client.message(payload)
            elif opcode == 9:
                self.transport.write(pong(payload))
            elif opcode == 8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.transport.write(b"\x88\x80\0\0\0\0")
                self._closed(code)
                self.transport.close()
                return

    def _closed(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            self.client.closes[code] += 1
        if not self.opened.done():
            self.opened.set_result(False)

    def connection_lost(self, exc) -> None:
        self._closed(1006)


class Client:
    """The sockets of one client process, and what they received."""

    def __init__(self) -> None:
        self.readers: list[Reader] = []
        self.reset()

    def reset(self, since_us: int = 0) -> None:
        self.since_us = since_us  # messages published before were meant for earlier sockets
        self.received = 0
        self.latencies: list[float] = []
        self.closes: Counter[int] = Counter()

    def message(self, payload: bytes) -> None:
        at = payload.find(b'"n":')
        if at < 0:
            return
        published_us = int(payload[at + 4 : at + 24].lstrip().split(b",", 1)[0].split(b"}", 1)[0])
        if published_us >= self.since_us:
            self.received += 1
            self.latencies.append(time.time() * 1000 - published_us / 1000)

    async def open(self, port: int, requests: list[bytes]) -> dict:
        loop = asyncio.get_running_loop()

        async def one(request: bytes) -> Reader:
            reader = Reader(self, request)
            try:
                await loop.create_connection(lambda: reader, "127.0.0.1", port)
                await asyncio.wait_for(asyncio.shield(reader.opened), 60)
            except (TimeoutError, OSError):
                reader._closed(1006)
            return reader

        started = time.monotonic()
        readers = await asyncio.gather(*(one(r) for r in requests))
        opened = [r for r in readers if r.upgraded and r.close_code is None]
        self.readers += opened
        return {"opened": len(opened), "seconds": time.monotonic() - started}

    def close_all(self) -> None:
        for reader in self.readers:
            reader.transport.close()
        self.readers = []

    def open_now(self) -> int:
        return sum(1 for r in self.readers if r.close_code is None)


def client_main(connection) -> None:
    """A client process: obeys commands from the benchmark over ``connection``."""
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        client = Client()
        while True:
            command, args = await loop.run_in_executor(None, connection.recv)
            if command == "open":
                answer = await client.open(*args)
            elif command == "reconnect":
                requests = [r.request for r in client.readers]
                client.close_all()
                answer = await client.open(args, requests)
            elif command == "close":
                client.close_all()
                answer = None
            elif command == "collect":
                answer = {
                    "received": client.received,
                    "latencies": client.latencies,
                    "closes": dict(client.closes),
                    "open": client.open_now(),
                }
            elif command == "count":
                answer = {"received": client.received, "open": client.open_now()}
            elif command == "reset":
                client.reset(args)
                answer = None
            else:
                return
            connection.send(answer)

    import uvloop

    uvloop.run(serve())


class Clients:
    """The client processes, addressed as one."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=client_main, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def each(self, command: str, args_per_client: list) -> list:
        for pipe, args in zip(self.pipes, args_per_client, strict=True):
            pipe.send((command, args))
        return [pipe.recv() for pipe in self.pipes]

    def all(self, command: str, args=None) -> list:
        return self.each(command, [args] * len(self.pipes))

    def open(self, port: int, requests: list[bytes]) -> dict:
        shares = [requests[i :: len(self.pipes)] for i in range(len(self.pipes))]
        started = time.monotonic()
        answers = self.each("open", [(port, share) for share in shares])
        return {
            "opened": sum(a["opened"] for a in answers),
            "seconds": time.monotonic() - started,
        }

    def count(self) -> dict:
        answers = self.all("count")
        return {key: sum(a[key] for a in answers) for key in ("received", "open")}

    def collect(self) -> dict:
        answers = self.all("collect")
        closes: Counter[int] = Counter()
        for answer in answers:
            closes.update(answer["closes"])
        return {
            "received": sum(a["received"] for a in answers),
            "latencies": [x for a in answers for x in a["latencies"]],
            "closes": closes,
            "open": sum(a["open"] for a in answers),
        }

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("stop", None))
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


def handshake(port: int, path: str, token: str | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    ]
    if token:
        lines.append(f"Authorization: Token {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# The two apps under test.


class App:
    """A server under test: how to start it, open its sockets and publish to them."""

    name: str

    def requests(self, port: int, count: int, start: int = 0) -> list[bytes]:
        """Handshakes of sockets ``start`` to ``start + count``."""
        raise NotImplementedError

    async def publish(self, now_us: int) -> None:
        raise NotImplementedError


class Platform(App):
    name = "platform"
    app = "eventplatform.asgi:application"
    flags = PLATFORM_FLAGS

    def __init__(self, database_url: str) -> None:
        self.env = harness.platform_env(database_url)
        harness.manage(self.env, "migrate")
        # The benchmark publishes through the outbox itself, as the platform's own code does.
        os.environ.update(self.env, DJANGO_SETTINGS_MODULE="eventplatform.settings")
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group as Role
        from rest_framework.authtoken.models import Token

        from eventplatform.events import EventType, Payload, publish
        from support.audience import AGENTS, AGENTS_ROLE

        class Tick(Payload):
            n: int

        self.tick = EventType("bench.clock.ticked.v1", Tick, audience=lambda p: [AGENTS])
        self._publish = lambda now_us: publish(self.tick, Tick(n=now_us))
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"bench-agent-{n}")
            for n in range(CLOSE_SOCKETS // SOCKETS_PER_USER + 1)  # and the pinger's
        )
        role, _ = Role.objects.get_or_create(name=AGENTS_ROLE)
        role.user_set.add(*users)
        tokens = Token.objects.bulk_create(Token(user=u, key=Token.generate_key()) for u in users)
        self.tokens = [t.key for t in tokens]
        self.api_headers = {"Authorization": f"Token {self.tokens[0]}"}

    def requests(self, port: int, count: int, start: int = 0) -> list[bytes]:
        # At most SOCKETS_PER_USER sockets per user, as a browser with tabs open.
        return [
            handshake(port, "/ws/stream/", self.tokens[n // SOCKETS_PER_USER])
            for n in range(start, start + count)
        ]

    async def publish(self, now_us: int) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._publish, now_us)


class Stock(App):
    name = "stock"
    app = "bench.stock.asgi:application"
    flags = ["--ws-max-size", "4096"]  # stock: uvicorn's defaults otherwise

    def __init__(self, database_url: str) -> None:
        self.env = {
            **harness.platform_env(database_url),
            "DJANGO_SETTINGS_MODULE": "bench.stock.settings",
            "BENCH_NAMESPACE": f"bench-stock-{os.getpid()}",
        }
        harness.manage(self.env, "migrate")
        self.api_headers = None
        self.layer = None

    def requests(self, port: int, count: int, start: int = 0) -> list[bytes]:
        return [handshake(port, f"/ws/?user={n}") for n in range(start, start + count)]

    async def publish(self, now_us: int) -> None:
        if self.layer is None:
            from channels_redis.core import RedisChannelLayer

            self.layer = RedisChannelLayer(
                hosts=[{"address": self.env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                        "socket_timeout": None}],
                prefix=f"{self.env['BENCH_NAMESPACE']}:asgi",
            )  # fmt: skip
        await self.layer.group_send("agents", {"type": "ticket.created", "ticket": {"n": now_us}})


# The measurements.


class Probe:
    """Requests in a loop on a thread, each timed: what a user of the API sees meanwhile."""

    def __init__(self, url: str, headers: dict | None = None) -> None:
        self.url, self.headers = url, headers
        self.timings: list[float] = []
        self.errors = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with httpx.Client(headers=self.headers, timeout=60) as http:
            while not self.stopped.is_set():
                started = time.monotonic()
                try:
                    ok = http.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.timings.append((time.monotonic() - started) * 1000)
                self.errors += not ok
                time.sleep(0.01)

    def stop(self) -> dict:
        self.stopped.set()
        self.thread.join()
        return {
            "p99_ms": harness.percentile(self.timings, 99),
            "max_ms": max(self.timings, default=float("nan")),
            "requests": len(self.timings),
            "errors": self.errors,
        }


class Pinger:
    """Pings on a socket of its own, on a thread, each timed until its pong.

    The server answers a ping from the callback that reads it, with no task or thread in
    between: each wait is how long its event loop went without reading, at most one of its
    turns, give or take the 5 ms between pings. A request waits out as many turns as its
    handling takes.

    The socket opens at once, before those of a storm (a server that cannot open more sockets
    then still answers it), and pings from then on, answering the server's own pings, which
    would otherwise close it; only the waits from ``mark()`` on count. A socket refused,
    closed or silent for a minute gives no figure.
    """

    def __init__(self, port: int, request: bytes) -> None:
        self.timings: list[tuple[float, float]] = []  # (sent at, wait in ms)
        self.since = math.inf
        self.failed = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.received = b""
        self.socket: socket.socket | None = None
        try:
            self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
            self.socket.sendall(request)
            while b"\r\n\r\n" not in self.received:
                self._read()
            head, _, self.received = self.received.partition(b"\r\n\r\n")
            self.failed = b" 101 " not in head.split(b"\r\n", 1)[0]
        except OSError:
            self.failed = True
        if not self.failed:
            self.thread.start()

    def mark(self) -> None:
        self.since = time.monotonic()

    def _read(self) -> None:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the pinger's socket")
        self.received += chunk

    def _frame(self) -> tuple[int, bytes]:
        """The server's next frame: its opcode and its payload."""
        while (frame := next_frame(self.received)) is None:
            self._read()
        first, payload, size = frame
        self.received = self.received[size:]
        return first & 0x0F, payload

    def _run(self) -> None:
        try:
            while not self.stopped.is_set():
                started = time.monotonic()
                self.socket.sendall(b"\x89\x80\0\0\0\0")  # a ping, masked with a zero key
                while (frame := self._frame())[0] != 0xA:
                    opcode, payload = frame
                    if opcode == 0x8:  # refused after the handshake (4401, 4429...), or closed
                        raise ConnectionError("the server closed the pinger's socket")
                    if opcode == 0x9:  # the server's keepalive
                        self.socket.sendall(pong(payload))
                self.timings.append((started, (time.monotonic() - started) * 1000))
                time.sleep(0.005)
        except OSError:
            self.failed = True

    def stop(self) -> dict:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=70)  # a pong that never comes: the socket's timeout
        if self.socket is not None:
            self.socket.close()
        waits = [wait for sent, wait in self.timings if sent >= self.since]
        failed = self.failed or self.thread.is_alive() or not waits
        return {"max_ms": math.nan if failed else max(waits), "pings": len(waits)}


async def publish_steadily(app: App, rate: int, seconds: int) -> float:
    started = time.monotonic()
    for i in range(rate * seconds):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        await app.publish(int(time.time() * 1e6))
    return time.monotonic() - started


def cpu_and_kernel(server) -> tuple[float, float]:
    return harness.cpu_seconds(server), harness.kernel_seconds(server)


def settle(server) -> None:
    """Wait until the server is idle: what one measurement left it doing must not count in
    the next."""
    deadline = time.monotonic() + 60
    while server.cpu_percent(interval=0.5) > 10 and time.monotonic() < deadline:
        pass


def fanout(app: App, clients: Clients, server, sockets: int, rate: int) -> dict:
    clients.all("reset", int(time.time() * 1e6))
    expected = sockets * rate * FANOUT_SECONDS
    cpu_before, kernel_before = cpu_and_kernel(server)
    published_in = asyncio.run(publish_steadily(app, rate, FANOUT_SECONDS))
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        got = clients.count()
        if got["received"] >= expected or got["open"] < sockets:
            break
        time.sleep(0.25)
    cpu = harness.cpu_seconds(server) - cpu_before
    kernel = harness.kernel_seconds(server) - kernel_before
    got = clients.collect()
    latencies = got["latencies"] or [float("nan")]
    return {
        "delivered": got["received"] / expected,
        "p50_ms": statistics.median(latencies),
        "p99_ms": harness.percentile(latencies, 99),
        "cpu_us": cpu / max(got["received"], 1) * 1e6,
        "kernel_us": kernel / max(got["received"], 1) * 1e6,
        "closed": sum(got["closes"].values()),
        "published_in": published_in,
    }


def app_round(app: App, logs: Path, port: int, measure: list[str]) -> dict:
    children = harness.Children(logs)
    clients = Clients(CLIENT_PROCESSES)
    results: dict = {}
    try:
        url = children.uvicorn(app.name, app.app, port, app.env, *app.flags)
        server = children.process(app.name)
        # Warm up: the first sockets load what every later one uses.
        clients.open(port, app.requests(port, 10))
        clients.all("close")
        time.sleep(1)

        if "fanout" in measure or "idle" in measure:
            for sockets, rate in FANOUTS:
                rss_before = server.memory_info().rss
                opened = clients.open(port, app.requests(port, sockets))
                time.sleep(2)
                if sockets == IDLE_SOCKETS and "idle" in measure:
                    grown = server.memory_info().rss - rss_before
                    results["idle_kb"] = grown / max(opened["opened"], 1) / 1024
                if "fanout" in measure:
                    results[f"fanout_{sockets}x{rate}"] = fanout(
                        app, clients, server, sockets, rate
                    )
                clients.all("close")
                settle(server)

        if "storm" in measure:
            opened = clients.open(port, app.requests(port, STORM_SOCKETS))
            time.sleep(2)
            health = Probe(url + "/healthz")
            api = Probe(url + "/api/v1/tickets/", app.api_headers) if app.api_headers else None
            time.sleep(1)
            started = time.monotonic()
            reopened = sum(a["opened"] for a in clients.all("reconnect", port))
            results["storm"] = {
                "opened": opened["opened"],
                "reopened": reopened,
                "seconds": time.monotonic() - started,
                "healthz": health.stop(),
                "api": api.stop() if api else None,
            }
            clients.all("close")
            time.sleep(3)

        if "close" in measure:
            fds_before = server.num_fds()
            pinger = Pinger(port, app.requests(port, 1, start=CLOSE_SOCKETS)[0])
            opened = clients.open(port, app.requests(port, CLOSE_SOCKETS))
            time.sleep(3)
            settle(server)
            probing = cpu_and_kernel(server)
            pinger.mark()
            health = Probe(url + "/healthz")
            time.sleep(1)
            storming, probed = cpu_and_kernel(server), len(health.timings)
            clients.all("close")
            # Until the server has let go of the sockets, and a little after.
            deadline = time.monotonic() + 60
            while server.num_fds() > fds_before + 20 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            pings, healthz = pinger.stop(), health.stop()
            # The storm's CPU, less the probe's requests meanwhile, each at what one cost before.
            share = (healthz["requests"] - probed) / probed if probed else math.nan
            cpu, kernel = (
                (end - storm) - share * (storm - probe)
                for probe, storm, end in zip(probing, storming, cpu_and_kernel(server), strict=True)
            )
            closed = opened["opened"] or math.nan
            results["close"] = {
                "opened": opened["opened"],
                "pings": pings,
                "healthz": healthz,
                "cpu_us": cpu / closed * 1e6,
                "kernel_us": kernel / closed * 1e6,
            }
    finally:
        clients.stop()
        children.stop_all()
    return results


# The report.


# The platform's targets: a result's path, and what its median must be.
TARGETS = {
    "fanout_1000x20.delivered": ("100 %", lambda v: v >= 1),
    "fanout_1000x20.p99_ms": ("<= 100", lambda v: v <= 100),
    "fanout_1000x20.cpu_us": ("<= 15", lambda v: v <= 15),
    "fanout_100x100.p99_ms": ("<= 20", lambda v: v <= 20),
    "idle_kb": ("<= 40", lambda v: v <= 40),
    "storm.healthz.p99_ms": ("< 1,000", lambda v: v < 1000),
    "storm.api.p99_ms": ("< 1,000", lambda v: v < 1000),
    "close.pings.max_ms": ("<= 100", lambda v: v <= 100),
}


def report(rounds: dict[str, list[dict]]) -> str:
    def values(app: str, path: str) -> list[float]:
        found = []
        for result in rounds.get(app, []):
            value = result
            for key in path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, int | float):
                found.append(value)
        return found

    def row(label: str, path: str, fmt: str = "{:,.0f}", scale: float = 1) -> list[str]:
        cells = [label]
        for app in ("platform", "stock"):
            found = [v * scale for v in values(app, path)]
            cells.append(harness.spread(found, fmt) if found else "-")
        target = TARGETS.get(path)
        if target is None or not values("platform", path):
            return [*cells, "", ""]
        if any(math.isnan(v) for v in values("platform", path)):
            return [*cells, target[0], "**no**: a round gave no figure"]
        median = statistics.median(values("platform", path))
        return [*cells, target[0], "yes" if target[1](median) else "**no**"]

    rows = []
    for sockets, rate in FANOUTS:
        key = f"fanout_{sockets}x{rate}"
        label = f"fan-out {sockets:,} sockets x {rate} events/s"
        rows += [
            row(f"{label}: delivered %", f"{key}.delivered", "{:.1f}", 100),
            row(f"{label}: latency p50 ms", f"{key}.p50_ms"),
            row(f"{label}: latency p99 ms", f"{key}.p99_ms"),
            row(f"{label}: server CPU us per message", f"{key}.cpu_us", "{:.1f}"),
            row(f"{label}: of which in the kernel, us", f"{key}.kernel_us", "{:.1f}"),
            row(f"{label}: sockets closed", f"{key}.closed"),
        ]
    rows += [
        row(f"idle socket KB (RSS growth over {IDLE_SOCKETS:,})", "idle_kb", "{:.1f}"),
        row(f"reconnect storm, {STORM_SOCKETS:,} sockets: reopened", "storm.reopened"),
        row("reconnect storm: seconds until all reopened", "storm.seconds", "{:.1f}"),
        row("reconnect storm: `/healthz` p99 ms", "storm.healthz.p99_ms"),
        row("reconnect storm: token `GET /api/v1/tickets/` p99 ms", "storm.api.p99_ms"),
        row(f"close storm, {CLOSE_SOCKETS:,} sockets: opened", "close.opened"),
        row("close storm: longest wait for a pong ms (loop stall)", "close.pings.max_ms"),
        row("close storm: longest `/healthz` answer ms", "close.healthz.max_ms"),
        row("close storm: server CPU us per socket closed", "close.cpu_us", "{:,.1f}"),
        row("close storm: of which in the kernel, us", "close.kernel_us", "{:,.1f}"),
    ]
    return "\n".join(
        [
            "## Live stream fan-out (`bench/stream_fanout.py`)",
            "",
            "One uvicorn process per app on loopback: the platform with "
            "`--ws-per-message-deflate false` (and its own threshold for Python's collector, "
            "`eventplatform/asgi.py`), the stock baseline (`bench/stock/`: a consumer joining "
            "group `agents`, one channels-redis `group_send` per event) with uvicorn's and "
            "Python's defaults. Client processes hold the sockets and offer permessage-deflate "
            "as browsers do; events go out through the platform's outbox (`publish()` on "
            "PostgreSQL) or stock's `group_send`. Latency runs from publish to receipt; CPU is "
            "the server process's, per message delivered, and the kernel's part of it its "
            "system time. The last two columns hold the platform's target and whether its "
            "median meets it.",
            "",
            f"{harness.machine()}. {harness.ROUNDS} rounds, platform and stock alternating; "
            "median (min-max). `python bench/stream_fanout.py`:",
            "",
            harness.table(["measurement", "platform", "stock", "target", "met"], rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="platform,stock")
    parser.add_argument("--measure", default=",".join(MEASUREMENTS))
    parser.add_argument("--no-report", action="store_true", help="print, do not write the doc")
    options = parser.parse_args()
    apps, measure = options.apps.split(","), options.measure.split(",")
    # Stopped with SIGTERM, it still stops its servers and drops its databases.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(1))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it

    logs = harness.scratch_dir("stream")
    databases = {name: harness.postgres_database(f"stream_{name}") for name in apps}
    try:
        subjects = {
            name: (Platform if name == "platform" else Stock)(databases[name]) for name in apps
        }
        rounds: dict[str, list[dict]] = {name: [] for name in apps}
        for number in range(harness.ROUNDS):
            for index, (name, app) in enumerate(subjects.items()):
                result = app_round(app, logs, 8700 + 10 * number + index, measure)
                print(name, number + 1, result, flush=True)
                rounds[name].append(result)
    finally:
        for url in databases.values():
            harness.drop_database(url)
    body = report(rounds)
    print(body)
    if not options.no_report:
        harness.write_section("stream_fanout", body)


if __name__ == "__main__":
    main()
