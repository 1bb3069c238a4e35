from functools import partial

from django.core.management.base import BaseCommand, CommandError

from eventplatform.events.management.progress import show_progress
from eventplatform.events.replay import (
    InvalidCriterion,
    parse_handler,
    parse_moment,
    parse_type_pattern,
    replay_range,
)


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
        replayed = replay_range(
            type_pattern=wanted["type"],
            since=wanted["since"],
            until=wanted.get("until"),
            handler=handler,
            progress=partial(show_progress, self.stdout),
        )
        if replayed.events:
            self.stdout.write("")
        attention = replayed.skipped_running or replayed.kept_since
        style = self.style.WARNING if attention else self.style.SUCCESS
        self.stdout.write(style(replayed.summary))
