from django.core.management.base import BaseCommand

from eventplatform.events.lifecycle import run_until_signalled
from eventplatform.events.supervisor import ClusterSupervisor


class Command(BaseCommand):
    help = (
        "Run the task workers (a django-q2 cluster) under a supervisor that replaces the "
        "cluster when a process of it dies or it stops taking work."
    )

    def handle(self, *args, **options):
        run_until_signalled(ClusterSupervisor().run)
