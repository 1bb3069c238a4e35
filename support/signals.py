"""Model signals -> support events. Thin: decide which event, build its payload, publish.

Every write path (services, API, admin, shell) saves through the model, so every path emits.
A ticket knows what a save changed (``EventedModel.changes()``); payloads are built by their
``from_`` methods in events.py.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from eventplatform.events import publish

from . import events
from .models import Message, Ticket


@receiver(post_save, sender=Ticket, dispatch_uid="support.publish_ticket_changes")
def publish_ticket_changes(
    sender, instance: Ticket, created: bool, raw: bool = False, **kwargs
) -> None:
    if raw:  # loading fixtures is not something that happened
        return
    if created:
        publish(events.TICKET_CREATED, events.TicketCreated.from_ticket(instance))
        return
    changes = instance.changes()
    if "priority" in changes or "sla_due_at" in changes:
        publish(events.TICKET_PRIORITISED, events.TicketPrioritised.from_ticket(instance))
    if "assignee" in changes:
        publish(events.TICKET_ASSIGNED, events.TicketAssigned.from_ticket(instance))
    if "status" in changes:
        previous_status = changes["status"][0]
        payload = events.TicketStatusChanged.from_ticket(instance, previous_status=previous_status)
        publish(events.TICKET_STATUS_CHANGED, payload)
    if "sla_breached_at" in changes and changes["sla_breached_at"][0] is None:
        publish(events.SLA_BREACHED, events.SlaBreached.from_ticket(instance))


@receiver(post_save, sender=Message, dispatch_uid="support.publish_message")
def publish_message(sender, instance: Message, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created:
        return
    if instance.internal:
        publish(events.INTERNAL_NOTE_ADDED, events.InternalNoteAdded.from_message(instance))
    else:
        publish(events.MESSAGE_POSTED, events.MessagePosted.from_message(instance))
