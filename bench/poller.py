"""The traditional way to react to new tickets, kept as the benchmarks' baseline: poll.

A loop scans the ticket table every ``--every`` seconds for tickets created since its last
scan (a cursor on the id) and sends each customer the same acknowledgement the platform's
reaction sends (``support.emails.send_acknowledgement``, with the priority the rules give).
It runs as its own process on the platform's models and settings, on a database where no
worker runs, until SIGTERM or SIGINT.

    DJANGO_SETTINGS_MODULE=eventplatform.settings .venv/bin/python bench/poller.py --every 1
"""

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=1.0, help="seconds between scans")
    parser.add_argument(
        "--after", type=int, default=None, help="ticket id to start after (default: the newest)"
    )
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventplatform.settings")
    import django

    django.setup()
    from django.db.models import Max

    from support import emails, services
    from support.models import Ticket

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    cursor = options.after
    if cursor is None:
        cursor = Ticket.objects.aggregate(newest=Max("pk"))["newest"] or 0
    print(f"polling every {options.every:g} s after ticket {cursor}", flush=True)
    next_scan = time.monotonic()
    while not stopping.is_set():
        for ticket in (
            Ticket.objects.filter(pk__gt=cursor).select_related("customer").order_by("pk")
        ):
            if ticket.customer.email:
                emails.send_acknowledgement(
                    ticket, priority=services.priority_expected(ticket=ticket), event_id=""
                )
            cursor = ticket.pk
        # A fixed rate, as cron or a scheduler would keep it, whatever a scan took.
        next_scan += options.every
        stopping.wait(max(0.0, next_scan - time.monotonic()))


if __name__ == "__main__":
    main()
