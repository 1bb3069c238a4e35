"""Events as CloudEvents 1.0: the one shape they leave the platform in (stream and webhooks)."""

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from .models import Event

CONTENT_TYPE = JSONFormat.CONTENT_TYPE  # application/cloudevents+json


def to_cloudevent(event: Event) -> CloudEvent:
    return CloudEvent(
        attributes={
            "id": str(event.id),
            "source": event.source,
            "type": event.type,
            "time": event.time,
            "datacontenttype": "application/json",
            # Extension: the outbox position, which a reconnecting client resumes after.
            "position": event.position,
        },
        data=event.payload,
    )


def to_json(event: Event) -> bytes:
    """The structured-mode JSON body of ``event``."""
    return JSONFormat().write(to_cloudevent(event))
