"""Model signals -> support events. Thin: decide which event, build its payload, publish.

Every write path (services, API, admin, shell) saves through the model, so every path emits.
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from eventplatform.events import publish
from eventplatform.users import display_name

from . import events
from .models import Message, Ticket, reference_for

TRACKED_FIELDS = ("status", "priority", "sla_due_at", "assignee_id", "sla_breached_at")


@receiver(pre_save, sender=Ticket, dispatch_uid="support.remember_ticket_state")
def remember_ticket_state(sender, instance: Ticket, raw: bool = False, **kwargs) -> None:
    """Keep the row as it was before this save, so post_save can tell what changed."""
    instance._state_before_save = (
        Ticket.objects.filter(pk=instance.pk).values(*TRACKED_FIELDS).first()
        if instance.pk and not raw
        else None
    )


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
    before = getattr(instance, "_state_before_save", None) or {}

    def changed(field: str) -> bool:
        return field in before and before[field] != getattr(instance, field)

    if changed("priority") or changed("sla_due_at"):
        publish(
            events.TICKET_PRIORITIZED,
            events.TicketPrioritized(
                ticket_id=instance.pk,
                customer_id=instance.customer_id,
                priority=instance.priority,
                sla_due_at=instance.sla_due_at,
            ),
        )
    if changed("assignee_id"):
        publish(
            events.TICKET_ASSIGNED,
            events.TicketAssigned(
                ticket_id=instance.pk,
                customer_id=instance.customer_id,
                assignee_id=instance.assignee_id,
                assignee_name=display_name(instance.assignee),
            ),
        )
    if changed("status"):
        publish(
            events.TICKET_STATUS_CHANGED,
            events.TicketStatusChanged(
                ticket_id=instance.pk,
                customer_id=instance.customer_id,
                status=instance.status,
                previous_status=before["status"],
            ),
        )
    if changed("sla_breached_at") and before["sla_breached_at"] is None:
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
