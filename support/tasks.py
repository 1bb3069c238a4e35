"""Tasks the queue runs on a schedule; each loads and calls one service."""

from . import services


def check_sla(ticket_id: int) -> bool:
    """Run by the ticket's one-off schedule at its first-response due time."""
    return services.sla_check(ticket_id=ticket_id)
