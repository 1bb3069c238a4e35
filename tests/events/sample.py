"""Event types declared for the backbone's own tests, the way an app declares its own."""

from eventplatform.events.audience import user_group
from eventplatform.events.catalog import EventType, Payload
from support.audience import AGENTS


class WidgetOrdered(Payload):
    order_id: int
    customer_id: int
    note: str = ""


WIDGET_ORDERED = EventType(
    "sample.widget.ordered.v1",
    WidgetOrdered,
    audience=lambda p: [AGENTS, user_group(p.customer_id)],
    description="A customer ordered a widget.",
)


class WidgetAudited(Payload):
    order_id: int


WIDGET_AUDITED = EventType("sample.widget.audited.v1", WidgetAudited)
