"""Models whose changes are events.

An app's model signals turn each committed change of such a model into its event. Two things
make that dependable whatever the write path:

- ``EventedModel`` remembers the tracked fields as they were loaded or last saved, so a
  ``post_save`` receiver asks ``instance.changes()`` what a save changed, with no query;
- ``EventedQuerySet`` refuses ``update()``, which sends no signal.

::

    class Ticket(EventedModel):
        tracked_fields = ("status", "priority", "assignee")
        objects = TicketQuerySet.as_manager()  # a subclass of EventedQuerySet

    @receiver(post_save, sender=Ticket)
    def publish_ticket_changes(sender, instance, created, **kwargs):
        if "status" in instance.changes(): ...
"""

from typing import Any, ClassVar

from django.db import models


class EventedQuerySet(models.QuerySet):
    """The queryset of a model whose changes are events, published by its signals.

    ``update()`` sends no signal, so it is refused: the app's services are the write path.
    A bulk write that is no domain change says so with ``update_without_events()``.
    """

    services = "the app's services"

    def update(self, **kwargs) -> int:
        raise TypeError(
            f"{self.model._meta.verbose_name_plural.capitalize()} change through "
            f"{self.services}, whose saves publish the events; QuerySet.update() would change "
            "them silently. For a write that is no domain change, call update_without_events()."
        )

    def update_without_events(self, **kwargs) -> int:
        """A bulk write that is no domain change, such as a data repair or a test moving a due
        time into the past: no domain rule runs and no event is published."""
        return super().update(**kwargs)


class EventedModel(models.Model):
    """A model that knows what a save changed in its ``tracked_fields``."""

    tracked_fields: ClassVar[tuple[str, ...]] = ()

    objects = EventedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, update_fields=None, **kwargs) -> None:
        # post_save receivers see the changes of this save, and only of the fields it writes.
        self._fields_being_saved = None if update_fields is None else set(update_fields)
        try:
            super().save(*args, update_fields=update_fields, **kwargs)
        finally:
            self.__dict__.pop("_fields_being_saved", None)
        self._remember_saved_values(update_fields)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._remember_saved_values()
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        super().refresh_from_db(using, fields, from_queryset)
        self._remember_saved_values(fields)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Each tracked field whose value differs from the saved one: name -> (before, after).

        Empty for an instance never saved. A foreign key compares by id.
        """
        saved = getattr(self, "_saved_values", {})
        saving = getattr(self, "_fields_being_saved", None)
        return {
            name: (before, self.__dict__[attname])
            for name, attname in self._tracked_attnames()
            if attname in saved
            and (saving is None or name in saving or attname in saving)
            and (before := saved[attname]) != self.__dict__[attname]
        }

    def _remember_saved_values(self, fields=None) -> None:
        # Deferred fields are left out: a save cannot change a field it did not load.
        saved = getattr(self, "_saved_values", {})
        for name, attname in self._tracked_attnames():
            if attname in self.__dict__ and (fields is None or name in fields or attname in fields):
                saved[attname] = self.__dict__[attname]
        self._saved_values = saved

    @classmethod
    def _tracked_attnames(cls) -> list[tuple[str, str]]:
        return [(name, cls._meta.get_field(name).attname) for name in cls.tracked_fields]
