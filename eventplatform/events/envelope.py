"""Events as CloudEvents 1.0: the one shape they leave the platform in (stream and webhooks)."""

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from .models import Event

CONTENT_TYPE = JSONFormat.CONTENT_TYPE  # application/cloudevents+json


def to_cloudevent(event: Event) -> CloudEvent:
    # Extensions: the chain the event belongs to, which a receiver may follow in its own logs.
    # An event older than chains has no correlation id; the first of a chain has no cause.
    chain = {"correlationid": event.correlation_id, "causationid": event.causation_id}
    return CloudEvent(
        attributes={
            "id": str(event.id),
            "source": event.source,
            "type": event.type,
            "time": event.time,
            "datacontenttype": "application/json",
            # Extension: the outbox position, which a reconnecting client resumes after.
            "position": event.position,
            **{name: str(value) for name, value in chain.items() if value},
        },
        data=event.payload,
    )


def to_json(event: Event) -> bytes:
    """The structured-mode JSON body of ``event``."""
    return JSONFormat().write(to_cloudevent(event))
