from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from support.audience import AGENTS_ROLE
from support.demo import seed_support_demo
from training.audience import INSTRUCTORS_ROLE
from training.demo import seed_courses

PASSWORD = "demo"
DEMO_USERS = {
    # username: (first name, roles, staff)
    "customer": ("Casey", [], False),
    "agent": ("Avery", [AGENTS_ROLE], False),
    "instructor": ("Indra", [INSTRUCTORS_ROLE], False),
    "learner": ("Lee", [], False),
}


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
    """Everything the demo needs; returns the usernames."""
    users = seed_users()
    seed_courses()
    seed_support_demo()
    return users


def seed_users() -> list[str]:
    User = get_user_model()
    roles = {
        name: Group.objects.get_or_create(name=name)[0] for name in (AGENTS_ROLE, INSTRUCTORS_ROLE)
    }
    for username, (first_name, user_roles, is_staff) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "email": f"{username}@example.com",
                "is_staff": is_staff,
            },
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
        user.groups.add(*(roles[r] for r in user_roles))
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    return [*DEMO_USERS, "admin"]
