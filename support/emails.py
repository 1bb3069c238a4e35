"""Emails to customers about their tickets, rendered from templates in plain text and HTML."""

from eventplatform.mail import send_templated, site_url

from .models import Channel, InboundMail, Message, SlaTarget, Ticket
from .reply_addresses import reply_address


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
        reply_to=reply_address(ticket.pk),
        # RFC 3834: automatic mail, which well-behaved mail systems answer with nothing; a
        # response to the customer's email (auto-replied, threaded onto it), or on its own
        # for a ticket from the web or the API (auto-generated).
        headers={"Auto-Submitted": "auto-replied", **_threading_headers(ticket)}
        if ticket.channel == Channel.EMAIL
        else {"Auto-Submitted": "auto-generated"},
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
        reply_to=reply_address(ticket.pk),
        headers=_threading_headers(ticket),
    )


def _threading_headers(ticket: Ticket) -> dict[str, str]:
    """In-Reply-To/References to the customer's last email on the ticket, so that their mail
    client shows the answer in the conversation they wrote."""
    last = (
        InboundMail.objects.filter(ticket=ticket, status=InboundMail.Status.PROCESSED)
        .order_by("-received_at", "-id")
        .values_list("message_id", flat=True)
        .first()
    )
    return {"In-Reply-To": last, "References": last} if last else {}
