from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Ticket


def acknowledge(ticket_id: int) -> None:
    """Emails the customer that their ticket arrived."""
    ticket = Ticket.objects.select_related("customer").get(pk=ticket_id)
    send_mail(
        f"We received your ticket: {ticket.subject}",
        render_to_string("stock/acknowledgement.txt", {"ticket": ticket}),
        None,
        [ticket.customer.email],
    )
