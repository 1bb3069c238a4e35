"""Emails to customers about their tickets, rendered from templates in plain text and HTML."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import Message, SlaTarget, Ticket


def ticket_url(ticket: Ticket) -> str:
    return settings.SITE_URL + ticket.get_absolute_url()


def describe_hours(hours: float) -> str:
    """'1 hour', '4 hours', '1 day', '3 days': how a response target reads in a sentence."""
    hours = round(hours)
    if hours >= 24 and hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _message_id(event_id: str, kind: str) -> str:
    # Stable per event: a delivery retried after the mail left is recognisable as a duplicate.
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{event_id}.{kind}@{domain}>"


def _send(*, to: str, subject: str, template: str, context: dict, message_id: str) -> None:
    text = render_to_string(f"support/email/{template}.txt", context)
    html = render_to_string(f"support/email/{template}.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id},
    )
    email.attach_alternative(html, "text/html")
    email.send()


def send_acknowledgement(ticket: Ticket, *, priority: str, event_id: str) -> None:
    """Tell the customer we have their ticket, its reference, and when to expect an answer."""
    target = SlaTarget.first_response_for(priority)
    _send(
        to=ticket.customer.email,
        subject=f"[{ticket.reference}] We received your request: {ticket.subject}",
        template="acknowledgement",
        context={
            "ticket": ticket,
            "customer_name": ticket.customer.get_short_name() or ticket.customer.get_username(),
            "priority": priority,
            "response_within": describe_hours(target.total_seconds() / 3600),
            "url": ticket_url(ticket),
        },
        message_id=_message_id(event_id, "ack"),
    )


def send_reply_notification(message: Message, *, event_id: str) -> None:
    """An agent answered: send the customer the reply and the way back to the ticket."""
    ticket = message.ticket
    _send(
        to=ticket.customer.email,
        subject=f"[{ticket.reference}] New reply: {ticket.subject}",
        template="reply",
        context={
            "ticket": ticket,
            "message": message,
            "customer_name": ticket.customer.get_short_name() or ticket.customer.get_username(),
            "author_name": message.author.get_full_name() or message.author.get_username(),
            "url": ticket_url(ticket),
        },
        message_id=_message_id(event_id, "reply"),
    )
