from datetime import timedelta
from functools import partial

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from eventplatform.events.conf import event_setting
from eventplatform.events.management.progress import show_progress
from eventplatform.events.retention import prune


class Command(BaseCommand):
    help = (
        "Delete events older than the retention period, with their deliveries and audiences, "
        "once nothing is still working on them. Dead letters are kept unless asked."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            default=None,
            help="Age in days (default: EVENTS['RETENTION_DAYS']).",
        )
        parser.add_argument(
            "--include-dead-letters",
            action="store_true",
            help="Delete events whose deliveries ended as dead letters too.",
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, older_than, include_dead_letters, batch_size, **options):
        days = event_setting("RETENTION_DAYS") if older_than is None else older_than
        if days < 0 or batch_size < 1:
            raise CommandError("--older-than must be 0 or more, --batch-size 1 or more.")
        before = timezone.now() - timedelta(days=days)
        pruned = prune(
            before,
            dead_letters=include_dead_letters,
            batch_size=batch_size,
            progress=partial(show_progress, self.stdout),
        )
        if pruned.events:
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"{pruned.summary} (older than {days} days)"))
