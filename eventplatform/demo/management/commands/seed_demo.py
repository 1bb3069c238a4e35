from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from eventplatform.demo import PASSWORD


class Command(BaseCommand):
    help = "Create the demo users, groups and data (idempotent; refused when DEBUG is off)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates known passwords.")
        users = seed()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {', '.join(users)} (password '{PASSWORD}').")
        )


@transaction.atomic
def seed() -> list[str]:
    """Every app's demo data, and the superuser ``admin``; returns the usernames."""
    users = []
    for config in apps.get_app_configs():
        if hasattr(config, "seed_demo"):
            users += config.seed_demo()
    if not get_user_model().objects.filter(username="admin").exists():
        get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    return [*users, "admin"]
