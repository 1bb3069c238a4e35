"""Operators' settings that reactions read on every delivery, kept by each worker between changes.

Prioritisation rules, SLA targets and webhook subscriptions change when an operator edits
them, and nearly every delivery reads them. Each change gives the settings a new version in
the database, and a worker's claim reads that version in the same statement as the delivery
(on PostgreSQL; ``delivery._claim``). While the version is the one a cache was read under,
the worker uses what it read: a change committed before a claim reaches that delivery, and
the settings cost a delivery no statement of their own until they change. Outside a delivery,
and on SQLite, a cache reads the database every time.

    RULES = SettingsCache(lambda: tuple(Rule.objects.filter(enabled=True)), Rule)

What a cache holds is shared by the deliveries a worker runs: never change it. Saving or
deleting an instance of a model named gives the settings a new version (in the change's
transaction; right after it for a save outside any), and so does every ``migrate``; a write
that sends no signal (``QuerySet.update()``) calls ``settings_changed()`` in its transaction.
The version is a random token, not a count: a count rolled back with its transaction could
come round again naming other settings.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Generic, TypeVar

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import Model
from django.db.models.signals import post_delete, post_migrate, post_save

from .models import SettingsVersion

T = TypeVar("T")
_RECEIVER = "settings-version"

# The settings' version as the running delivery's claim read it; None outside a delivery.
_version: ContextVar[uuid.UUID | None] = ContextVar("settings_version", default=None)


class SettingsCache(Generic[T]):
    """What ``load`` reads from ``models``, kept while the settings' version stays the same."""

    every: ClassVar[list["SettingsCache"]] = []

    def __init__(self, load: Callable[[], T], *models: type[Model]) -> None:
        self._load = load
        self._kept: tuple[uuid.UUID, T] | None = None
        for model in models:
            post_save.connect(_changed, sender=model, dispatch_uid=_RECEIVER)
            post_delete.connect(_changed, sender=model, dispatch_uid=_RECEIVER)
        self.every.append(self)

    def get(self) -> T:
        version = _version.get()
        if version is None:
            return self._load()
        if self._kept is None or self._kept[0] != version:
            # Read after the claim: a change committed since is in it, and the next claim
            # reads it again under its own version.
            self._kept = (version, self._load())
        return self._kept[1]

    @classmethod
    def forget_all(cls) -> None:
        """Drop what every cache kept: tests roll the version back with their transaction."""
        for cache in cls.every:
            cache._kept = None


@contextmanager
def as_of(version: uuid.UUID | None) -> Iterator[None]:
    """Caches read in the block are good while the settings' version is ``version``."""
    token = _version.set(version)
    try:
        yield
    finally:
        _version.reset(token)


def settings_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the settings a new version, in the caller's transaction: workers read them again."""
    _new_version(SettingsVersion, using)


def _new_version(model: type[Model], using: str) -> None:
    rows = model._default_manager.using(using)
    if not rows.filter(pk=SettingsVersion.ROW).update(token=uuid.uuid4()):
        rows.get_or_create(pk=SettingsVersion.ROW)


def _changed(using: str, **kwargs: Any) -> None:
    settings_changed(using)


def _migrated(sender: AppConfig, using: str, apps=global_apps, **kwargs: Any) -> None:
    # A data migration writes through historical models, which send no signals. Each app is
    # sent this after every migrate (and flush): the events app's turn does it, once.
    if sender.label != "events":
        return
    try:
        model = apps.get_model("events", "SettingsVersion")
    except LookupError:  # migrated back to before the version existed
        return
    if router.allow_migrate_model(using, model):
        _new_version(model, using)


post_migrate.connect(_migrated, dispatch_uid=_RECEIVER)
