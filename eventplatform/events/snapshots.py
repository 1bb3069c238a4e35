"""Operators' settings that reactions read on every delivery, kept by each worker between changes.

Prioritisation rules, SLA targets and webhook subscriptions change when an operator edits
them, and nearly every delivery reads them. Each change gives the settings a new version in
the database, in the change's own transaction, and a worker's claim reads that version in
the same statement as the delivery (on PostgreSQL; ``delivery._claim``). While the version is
the one a snapshot was read under, the worker uses what it read: a change committed before a
claim reaches that delivery, and the settings cost a delivery no statement of their own until
they change. Outside a delivery, and on SQLite, a snapshot reads the database every time.
What a snapshot holds is shared by the deliveries a worker runs: read it, never change it.

    RULES = Snapshot(lambda: list(Rule.objects.filter(enabled=True)), Rule)

Saving or deleting an instance of a model named, and every ``migrate``, gives the settings a
new version; a write that sends no signal (``QuerySet.update()``, raw SQL) calls
``settings_changed()``. The version is a random token, not a count: a count rolled back
with its transaction could come round again naming other settings.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.db.models.signals import post_delete, post_migrate, post_save

from .models import SettingsVersion

T = TypeVar("T")

# The settings' version as the running delivery's claim read it; None outside a delivery.
_version: ContextVar[uuid.UUID | None] = ContextVar("settings_version", default=None)


class Snapshot(Generic[T]):
    """What ``load`` reads from ``models``, kept while the settings' version stays the same."""

    def __init__(self, load: Callable[[], T], *models: type[Model]) -> None:
        self.load = load
        self.kept: tuple[uuid.UUID, T] | None = None
        for model in models:
            post_save.connect(_changed, sender=model, dispatch_uid="settings-version")
            post_delete.connect(_changed, sender=model, dispatch_uid="settings-version")

    def get(self) -> T:
        version = _version.get()
        if version is None:
            return self.load()
        if self.kept is None or self.kept[0] != version:
            # Read after the claim: a change committed since is in it, and the next claim
            # reads it again under its own version.
            self.kept = (version, self.load())
        return self.kept[1]


@contextmanager
def as_of(version: uuid.UUID | None) -> Iterator[None]:
    """Snapshots read in the block are good while the settings' version is ``version``."""
    token = _version.set(version)
    try:
        yield
    finally:
        _version.reset(token)


def settings_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Give the settings a new version, in the caller's transaction: workers read them again."""
    _new_version(SettingsVersion, using)


def _new_version(model: type[SettingsVersion], using: str) -> None:
    model.objects.using(using).update_or_create(
        pk=SettingsVersion.ROW, defaults={"token": uuid.uuid4()}
    )


def _changed(using: str, **kwargs) -> None:
    settings_changed(using)


def _migrated(sender, using: str, apps=global_apps, **kwargs) -> None:
    # A data migration writes through historical models, which send no signals. Each app is
    # sent this after every migrate (and flush): the events app's turn does it, once.
    if sender.label != "events":
        return
    try:
        model = apps.get_model("events", "SettingsVersion")
    except LookupError:  # migrated back to before the version existed
        return
    _new_version(model, using)


post_migrate.connect(_migrated, dispatch_uid="settings-version")
