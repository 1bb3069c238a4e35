"""Fixtures shared by every test: the real task queue, users, and the live-stream client."""

import gc
import pydoc

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.test import override_settings
from django_q.signing import SignedPackage

from eventplatform.events.queue import broker
from eventplatform.events.settings_cache import SettingsCache
from support.audience import AGENTS_ROLE
from tests.factories import UserFactory
from tests.reliability.figures import (  # noqa: F401  the hooks that print the fault tests' figures
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_testnodedown,
)
from training.audience import INSTRUCTORS_ROLE


class TaskQueue:
    """The real django-q2 queue on Redis, worked off in the test's own process."""

    def __init__(self) -> None:
        self.broker = broker()

    def __len__(self) -> int:
        return self.broker.queue_size()

    def tasks(self) -> list[dict]:
        raw = self.broker.connection.lrange(self.broker.list_key, 0, -1)
        return [SignedPackage.loads(item) for item in raw]

    def purge(self) -> None:
        self.broker.delete_queue()

    def run(self) -> list:
        """Run queued tasks, including those they enqueue, until the queue is empty."""
        results = []
        while self.broker.queue_size():
            _, package = self.broker.dequeue()[0]
            task = SignedPackage.loads(package)
            results.append(pydoc.locate(task["func"])(*task["args"], **task["kwargs"]))
        return results


def pytest_collection_modifyitems(items):
    """Browser tests are marked ``e2e`` and run last, after the stack they start is needed by
    nothing else."""
    for item in items:
        if "/tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(autouse=True, scope="session")
def media_root(tmp_path_factory):
    """Stored files (email attachments) go to a directory of the test session's own, never
    to the checkout's ``media/``."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A channel layer per test. Each async test runs its own event loop, and a layer keeps
    locks bound to the loop that first used them: one left held by a test's unfinished hub
    would break the next test's. (A server process has one loop for its whole life.)"""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield


@pytest.fixture(autouse=True)
def forget_cache():
    """Failed logins and idempotency keys live in Redis, which outlives a test: each test
    starts without them. Only this process's cache keys go (Django's ``cache.clear()`` would
    flush the whole Redis database, other processes' queues included)."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter(f"{django_settings.CACHES['default']['KEY_PREFIX']}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(autouse=True)
def forget_kept_settings():
    """A test's changes to rules, SLA targets and subscriptions roll back with it, and the
    settings' version with them: what a worker kept under a version must not outlive its test."""
    SettingsCache.forget_all()


@pytest.fixture(autouse=True)
def fast_password_hashing(request, settings):
    """Users are made and log in by the dozen, and no test is about the hash's strength:
    MD5 instead of PBKDF2's million rounds (a third of a second per user). Not for browser and
    fault tests, whose users log in to real servers that keep the real hasher."""
    if not any(request.node.get_closest_marker(name) for name in ("e2e", "reliability")):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def task_queue():
    queue = TaskQueue()
    queue.purge()
    yield queue
    queue.purge()


@pytest.fixture
def agent(db):
    user = UserFactory(username="agent")
    user.groups.add(Group.objects.get_or_create(name=AGENTS_ROLE)[0])
    return user


@pytest.fixture
def instructor(db):
    user = UserFactory(username="instructor")
    user.groups.add(Group.objects.get_or_create(name=INSTRUCTORS_ROLE)[0])
    return user


@pytest.fixture
def customer(db):
    return UserFactory(username="customer")


@pytest.fixture
def staff(db):
    return UserFactory(username="operator", is_staff=True)


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server, with Django's email settings pointing at it."""
    from tests.receivers import SmtpReceiver

    server = SmtpReceiver().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def http_receiver():
    """A real local HTTP endpoint: set ``.status`` to make it fail or recover."""
    from tests.receivers import HttpReceiver

    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test databases, dropped once no connection to them is left open.

    The stream reads the database on the threads of its event loop's pool. When a test's loop
    closes, they end, and their connections become garbage that only the garbage collector
    closes: Django's connection objects refer to themselves. PostgreSQL refuses to drop a
    database while a connection to it is open."""
    yield
    gc.collect()
