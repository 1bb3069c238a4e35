"""What the support tests look up about reactions: the CRM's signing secret, a delivery."""

from eventplatform.events.models import Delivery

CRM_SECRET = "whsec_" + "Y3JtLXNlY3JldC1mb3ItdGVzdHMtb25seS0zMi1ieXRlcyE="


def delivery(ticket, handler: str, event_type: str = "support.ticket.created.v1") -> Delivery:
    """The delivery of ``ticket``'s event of ``event_type`` to ``handler``."""
    return Delivery.objects.get(
        event__type=event_type,
        event__payload__ticket_id=ticket.pk,
        handler=handler,
    )
