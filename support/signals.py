"""Model signals -> support events. Thin: decide which event, build its payload, publish.

Every write path (services, API, admin, shell) saves through the model, so every path emits.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from eventplatform.events import publish
from eventplatform.users import display_name

from . import events
from .models import Message, Ticket, reference_for


@receiver(post_save, sender=Ticket, dispatch_uid="support.publish_ticket_changes")
def publish_ticket_changes(
    sender, instance: Ticket, created: bool, raw: bool = False, **kwargs
) -> None:
    if raw:  # loading fixtures is not something that happened
        return
    if created:
        publish(
            events.TICKET_CREATED,
            events.TicketCreated(
                ticket_id=instance.pk,
                reference=instance.reference,
                subject=instance.subject,
                customer_id=instance.customer_id,
                customer_name=display_name(instance.customer),
                status=instance.status,
                priority=instance.priority,
                created_at=instance.created_at,
            ),
        )
        return
    changes = instance.changes()
    if "priority" in changes or "sla_due_at" in changes:
        publish(
            events.TICKET_PRIORITIZED,
            events.TicketPrioritized(
                ticket_id=instance.pk,
                customer_id=instance.customer_id,
                priority=instance.priority,
                sla_due_at=instance.sla_due_at,
            ),
        )
    if "assignee" in changes:
        publish(
            events.TICKET_ASSIGNED,
            events.TicketAssigned(
                ticket_id=instance.pk,
                customer_id=instance.customer_id,
                assignee_id=instance.assignee_id,
                assignee_name=display_name(instance.assignee),
            ),
        )
    if "status" in changes:
        publish(
            events.TICKET_STATUS_CHANGED,
            events.TicketStatusChanged(
                ticket_id=instance.pk,
                customer_id=instance.customer_id,
                status=instance.status,
                previous_status=changes["status"][0],
            ),
        )
    if "sla_breached_at" in changes and changes["sla_breached_at"][0] is None:
        publish(
            events.SLA_BREACHED,
            events.SlaBreached(
                ticket_id=instance.pk,
                reference=reference_for(instance.pk),
                subject=instance.subject,
                customer_name=display_name(instance.customer),
                priority=instance.priority,
                sla_due_at=instance.sla_due_at,
            ),
        )


@receiver(post_save, sender=Message, dispatch_uid="support.publish_message")
def publish_message(sender, instance: Message, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created:
        return
    if instance.internal:
        publish(
            events.INTERNAL_NOTE_ADDED,
            events.InternalNoteAdded(
                ticket_id=instance.ticket_id,
                message_id=instance.pk,
                author_id=instance.author_id,
                author_name=display_name(instance.author),
                body=instance.body,
                created_at=instance.created_at,
            ),
        )
        return
    publish(
        events.MESSAGE_POSTED,
        events.MessagePosted(
            ticket_id=instance.ticket_id,
            customer_id=instance.ticket.customer_id,
            message_id=instance.pk,
            author_id=instance.author_id,
            author_name=display_name(instance.author),
            from_agent=instance.from_agent,
            body=instance.body,
            created_at=instance.created_at,
        ),
    )
