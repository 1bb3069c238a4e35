from django.core.management.base import BaseCommand, CommandError

from eventplatform.events.replay import (
    InvalidCriterion,
    parse_handler,
    parse_moment,
    parse_type_pattern,
    replay,
    select_events,
)

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
        criteria = {"type": (parse_type_pattern, type), "since": (parse_moment, since)}
        if until:
            criteria["until"] = (parse_moment, until)
        if handler:
            criteria["handler"] = (parse_handler, handler)
        wanted = {}
        for name, (parse, value) in criteria.items():
            try:
                wanted[name] = parse(value)
            except InvalidCriterion as error:
                raise CommandError(f"--{name} {value!r}: {error}") from None
        events = select_events(
            type_pattern=wanted["type"], since=wanted["since"], until=wanted.get("until")
        )
        replayed = replay(events, handler=handler, progress=self.show_progress)
        if replayed.events:
            self.stdout.write("")
        style = self.style.WARNING if replayed.skipped_running else self.style.SUCCESS
        self.stdout.write(style(replayed.summary))

    def show_progress(self, done: int, total: int) -> None:
        filled = BAR * done // total
        self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}", ending="")
        self.stdout.flush()
