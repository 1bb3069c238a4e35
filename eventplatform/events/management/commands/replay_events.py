from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from eventplatform.events.replay import replay, select_events
from eventplatform.events.subscriptions import get_handler

BAR = 30


class Command(BaseCommand):
    help = "Deliver archived events again, by type and time range (optionally to one handler)."

    def add_arguments(self, parser):
        parser.add_argument("--type", required=True, help="An event type, or a prefix with *.")
        parser.add_argument("--since", required=True, help="ISO 8601: events at or after.")
        parser.add_argument("--until", help="ISO 8601: events before (default: now).")
        parser.add_argument(
            "--handler",
            default="",
            help="Only this handler, by its name (e.g. support.crm-update).",
        )

    def handle(self, *args, type, since, until, handler, **options):
        moments = {}
        for name, value in (("since", since), ("until", until)):
            if value:
                try:
                    moments[name] = parse_datetime(value)
                except ValueError:
                    moments[name] = None
                if moments[name] is None:
                    raise CommandError(f"--{name} {value!r} is not an ISO 8601 date and time.")
        if handler:
            try:
                get_handler(handler)
            except KeyError:
                raise CommandError(f"No handler named {handler!r} is subscribed.") from None
        events = select_events(type_pattern=type, **moments)
        replayed = replay(events, handler=handler, progress=self.show_progress)
        if replayed.events:
            self.stdout.write("")
        style = self.style.WARNING if replayed.skipped_running else self.style.SUCCESS
        self.stdout.write(style(replayed.summary))

    def show_progress(self, done: int, total: int) -> None:
        filled = BAR * done // total
        self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}", ending="")
        self.stdout.flush()
