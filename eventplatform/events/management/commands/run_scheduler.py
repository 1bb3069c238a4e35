from django.core.management.base import BaseCommand

from eventplatform.events.lifecycle import run_until_signalled
from eventplatform.events.scheduler import Scheduler


class Command(BaseCommand):
    help = (
        "Fire due retries and recover stranded deliveries, every second while work is under "
        "way; one instance is active across nodes, the others stand by."
    )

    def handle(self, *args, **options):
        run_until_signalled(Scheduler().run)
