import pytest
from django.db import transaction
from django.test import override_settings

from tests.security.roles import FAST_HASHERS, build_world


@pytest.fixture(scope="class")
def world(django_db_setup, django_db_blocker):
    """The cast and their objects, built once per test class inside a transaction rolled back
    after it; each test still runs in its own savepoint, so what one test changes the next
    never sees. Class, not module: the transaction must be over before a module's
    transactional tests (sorted after the others) run, or SQLite would stay locked for them."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        yield build_world()
        transaction.set_rollback(True)
