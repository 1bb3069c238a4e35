"""Demo data, seeded by ``python manage.py seed_demo`` (refused when DEBUG is off).

The project seeds the superuser; each app seeds its own users and data through a
``seed_demo()`` method on its AppConfig, creating its users with ``demo_user``.
"""

PASSWORD = "demo"


def demo_user(username: str, first_name: str, *, roles: tuple[str, ...] = ()):
    """The demo user ``username`` with the password ``demo``, in the Django groups ``roles``."""
    # Imported here: this package is an app, imported before models may be.
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": first_name, "email": f"{username}@example.com"}
    )
    if created:
        user.set_password(PASSWORD)
        user.save()
    user.groups.add(*(Group.objects.get_or_create(name=role)[0] for role in roles))
    return user
