"""Support's reactions. Each is its own delivery: retried alone, never holding back another.

Deliveries are at least once, so each reaction is safe to repeat: prioritisation and SLA
scheduling converge on the ticket's current state, and emails carry a Message-ID derived
from the event so that a repeated send is recognisable.
"""

from anymail.signals import inbound as provider_inbound_mail
from django.conf import settings

from eventplatform.compiled import CompiledGet
from eventplatform.events import Event, PermanentFailure, Skip, post_event, subscribe

from . import emails, inbound, services, slack
from .events import (
    EMAIL_RECEIVED,
    MESSAGE_POSTED,
    SLA_BREACHED,
    TICKET_CREATED,
    TICKET_PRIORITISED,
)
from .models import Message, Ticket

# With the customer's support profile: prioritisation rules read the plan and tier.
_TICKET_WITH_CUSTOMER = CompiledGet(Ticket.objects.select_related("customer__support_profile"))


def _ticket(ticket_id: int) -> Ticket:
    try:
        return _TICKET_WITH_CUSTOMER.get(ticket_id)
    except Ticket.DoesNotExist:
        raise PermanentFailure(f"Ticket {ticket_id} no longer exists.") from None


@subscribe(TICKET_CREATED, name="support.acknowledgement-email")
def send_acknowledgement_email(event: Event) -> None:
    ticket = _ticket(event.data.ticket_id)
    if not ticket.customer.email:
        raise Skip(f"customer {ticket.customer_id} has no email address")
    emails.send_acknowledgement(
        ticket, priority=services.priority_expected(ticket=ticket), event_id=str(event.id)
    )


@subscribe(TICKET_CREATED, name="support.prioritisation")
def prioritise_ticket(event: Event) -> None:
    services.ticket_prioritise(ticket_id=event.data.ticket_id)


def slack_configured() -> bool:
    return bool(settings.SLACK_WEBHOOK_URL)


def crm_configured() -> bool:
    return bool(settings.CRM_WEBHOOK_URL and settings.CRM_WEBHOOK_SECRET)


@subscribe(TICKET_CREATED, name="support.slack-new-ticket", configured=slack_configured)
def notify_agents_on_slack(event: Event) -> None:
    ticket = _ticket(event.data.ticket_id)
    priority = services.priority_expected(ticket=ticket)
    customer_name = event.data.customer_name
    slack.send_ticket_notice(
        ticket,
        summary=f"New {priority} ticket {ticket.reference} from {customer_name}: {ticket.subject}",
        heading=f"New ticket {ticket.reference}",
        priority=priority,
        customer_name=customer_name,
    )


@subscribe(TICKET_CREATED, name="support.crm-update", configured=crm_configured)
def update_crm(event: Event) -> None:
    if not crm_configured():  # unset since the event was published
        raise Skip("CRM_WEBHOOK_URL or CRM_WEBHOOK_SECRET is not set")
    post_event(settings.CRM_WEBHOOK_URL, event, secret=settings.CRM_WEBHOOK_SECRET)


@subscribe(TICKET_PRIORITISED, name="support.sla-timer")
def schedule_sla_check(event: Event) -> None:
    """Arm the one-off first-response check at the ticket's current due time."""
    try:
        services.sla_schedule(ticket_id=event.data.ticket_id)
    except Ticket.DoesNotExist:
        raise PermanentFailure(f"Ticket {event.data.ticket_id} no longer exists.") from None


@subscribe(SLA_BREACHED, name="support.slack-sla-breach", configured=slack_configured)
def alert_agents_of_sla_breach(event: Event) -> None:
    ticket = _ticket(event.data.ticket_id)
    slack.send_ticket_notice(
        ticket,
        summary=f"SLA breached: {ticket.reference} ({ticket.priority}) has had no first "
        f"response: {ticket.subject}",
        heading=f":rotating_light: SLA breached: {ticket.reference}",
        priority=ticket.priority,
        customer_name=event.data.customer_name,
    )


@subscribe(MESSAGE_POSTED, name="support.reply-email")
def email_customer_about_reply(event: Event) -> None:
    if not event.data.from_agent:
        return
    try:
        message = Message.objects.select_related("ticket__customer", "author").get(
            pk=event.data.message_id
        )
    except Message.DoesNotExist:
        raise PermanentFailure(f"Message {event.data.message_id} no longer exists.") from None
    if message.internal:  # never, by construction; a note must not leave by email regardless
        return
    if not message.ticket.customer.email:
        raise Skip(f"customer {message.ticket.customer_id} has no email address")
    emails.send_reply_notification(message, event_id=str(event.id))


@subscribe(EMAIL_RECEIVED, name="support.inbound-email")
def process_inbound_email(event: Event) -> None:
    """Turn a stored email into a ticket or a reply, or hold or ignore it (support/inbound.py)."""
    inbound.mail_process(mail_id=event.data.inbound_mail_id)


# Email providers' inbound webhooks (django-anymail) store mail the same way the SMTP receiver
# does; the webhook answers the provider only once the mail is committed.
provider_inbound_mail.connect(inbound.store_provider_mail, dispatch_uid="support.inbound-email")
