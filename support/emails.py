"""Emails to customers about their tickets, rendered from templates in plain text and HTML."""

from eventplatform.mail import send_templated, site_url

from .models import Message, SlaTarget, Ticket


def ticket_url(ticket: Ticket) -> str:
    return site_url(ticket.get_absolute_url())


def describe_hours(hours: float) -> str:
    """'1 hour', '4 hours', '1 day', '3 days': how a response target reads in a sentence."""
    hours = round(hours)
    if hours >= 24 and hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def send_acknowledgement(ticket: Ticket, *, priority: str, event_id: str) -> None:
    """Tell the customer we have their ticket, its reference, and when to expect an answer."""
    target = SlaTarget.first_response_for(priority)
    send_templated(
        to=ticket.customer.email,
        subject=f"[{ticket.reference}] We received your request: {ticket.subject}",
        template="support/email/acknowledgement",
        context={
            "ticket": ticket,
            "customer_name": ticket.customer.get_short_name() or ticket.customer.get_username(),
            "priority": priority,
            "response_within": describe_hours(target.total_seconds() / 3600),
            "url": ticket_url(ticket),
        },
        event_id=event_id,
        kind="ack",
    )


def send_reply_notification(message: Message, *, event_id: str) -> None:
    """An agent answered: send the customer the reply and the way back to the ticket."""
    ticket = message.ticket
    send_templated(
        to=ticket.customer.email,
        subject=f"[{ticket.reference}] New reply: {ticket.subject}",
        template="support/email/reply",
        context={
            "ticket": ticket,
            "message": message,
            "customer_name": ticket.customer.get_short_name() or ticket.customer.get_username(),
            "author_name": message.author.get_full_name() or message.author.get_username(),
            "url": ticket_url(ticket),
        },
        event_id=event_id,
        kind="reply",
    )
