"""Benchmark: live-stream fan-out, events published at a steady rate to many sockets.

Starts one ASGI server (uvicorn, as `make run` does) on a scratch SQLite database and a
namespace of its own, connects SOCKETS token-authenticated sockets, publishes RATE events a
second for SECONDS from this process, and reports per scenario: messages delivered out of
those expected, sockets closed with 4408 (told to resume: not a silent loss), and delivery
latency from publish to receipt. Results go to docs/benchmarks.md.

    .venv/bin/python bench/stream_fanout.py            # the scenarios of docs/benchmarks.md
"""

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="bench-"))
os.environ.update(
    DATABASE_URL=f"sqlite:///{SCRATCH / 'bench.sqlite3'}",
    EVENTPLATFORM_NAMESPACE=f"bench-{os.getpid()}",
    DEBUG="1",
    LOG_LEVEL="WARNING",
    DJANGO_SETTINGS_MODULE="eventplatform.settings",
)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from eventplatform.events.audience import user_group  # noqa: E402
from eventplatform.events.catalog import EventType, Payload  # noqa: E402
from eventplatform.events.outbox import publish  # noqa: E402
from tests.stack import Processes, stack_env  # noqa: E402

DRAIN = 60  # seconds allowed after the last publish for every message to arrive
SCENARIOS = [  # (sockets, events per second, seconds)
    (100, 100, 10),
    (1000, 20, 10),
]


class Tick(Payload):
    n: int
    reader_id: int


TICK = EventType("bench.clock.ticked.v1", Tick, audience=lambda p: [user_group(p.reader_id)])


async def reader(url: str, token: str, counts: dict, latencies: list, closes: dict) -> None:
    async with connect(
        url, additional_headers={"Authorization": f"Token {token}"}, max_queue=None
    ) as socket:
        counts["open"] += 1
        try:
            async for text in socket:
                event = json.loads(text)
                latencies.append(time.time() - event["data"]["n"] / 1e6)
                counts["received"] += 1
        finally:
            code = socket.close_code
            closes[code] = closes.get(code, 0) + 1


async def scenario(url: str, token: str, reader_id: int, sockets: int, rate: int, seconds: int):
    counts, latencies, closes = {"open": 0, "received": 0}, [], {}
    tasks = [
        asyncio.create_task(reader(url, token, counts, latencies, closes)) for _ in range(sockets)
    ]
    while counts["open"] < sockets:
        await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    for i in range(rate * seconds):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        now_us = int(time.time() * 1e6)  # the payload carries its publish time
        await loop.run_in_executor(None, publish, TICK, Tick(n=now_us, reader_id=reader_id))
    published_in = time.monotonic() - started
    expected = sockets * rate * seconds
    # Wait for the stragglers: slow is not lost, and a socket closed with 4408 would say so.
    while counts["received"] < expected and time.monotonic() - started < seconds + DRAIN:
        if closes:
            break
        await asyncio.sleep(0.1)
    drained_in = time.monotonic() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = sorted(latencies) or [0.0]
    return {
        "sockets": sockets,
        "rate": rate,
        "seconds": seconds,
        "expected": expected,
        "published_in": published_in,
        "drained_in": drained_in,
        "received": counts["received"],
        "closed_4408": closes.get(4408, 0),
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench-reader")
    token = Token.objects.create(user=user).key
    server = Processes(stack_env(LOG_LEVEL="WARNING"), SCRATCH)
    try:
        url = server.start_web("web").replace("http://", "ws://") + "/ws/stream/"
        results = [asyncio.run(scenario(url, token, user.pk, *s)) for s in SCENARIOS]
    finally:
        server.stop_all()
    lines = [
        "| sockets | events/s | published in | messages expected | delivered | all in after "
        "| closed 4408 | latency p50 | latency p99 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['sockets']} | {r['rate']} | {r['published_in']:.1f} s | {r['expected']:,} "
            f"| {r['received']:,} ({r['received'] / r['expected']:.1%}) "
            f"| {r['drained_in']:.1f} s | {r['closed_4408']} "
            f"| {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms |"
        )
    print("\n".join(lines))
    write_results(lines)


def write_results(table: list[str]) -> None:
    """Replace this benchmark's section of docs/benchmarks.md with the new figures."""
    doc = ROOT / "docs" / "benchmarks.md"
    begin, end = "<!-- stream_fanout:begin -->", "<!-- stream_fanout:end -->"
    text = doc.read_text()
    stamp = (
        f"Run {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}, `python bench/stream_fanout.py`:"
    )
    section = "\n".join([begin, stamp, "", *table, end])
    head, rest = text.split(begin, 1)
    doc.write_text(head + section + rest.split(end, 1)[1])


if __name__ == "__main__":
    main()
