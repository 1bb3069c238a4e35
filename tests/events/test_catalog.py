import pytest
from pydantic import ValidationError

from eventplatform.events.catalog import EventType, UnknownEventType, get_event_type
from eventplatform.events.models import Event
from eventplatform.events.outbox import publish
from tests.events.sample import WIDGET_ORDERED, WidgetAudited, WidgetOrdered

pytestmark = pytest.mark.django_db


def test_publishing_an_undeclared_type_raises_at_the_call_site():
    with pytest.raises(UnknownEventType, match=r"sample\.widget\.vanished\.v1"):
        publish("sample.widget.vanished.v1", {"order_id": 1})
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"order_id": "1", "customer_id": 2},  # a string where an int is declared
        {"order_id": 1},  # a required field missing
        {"order_id": 1, "customer_id": 2, "coupon": "X"},  # a field nobody declared
    ],
)
def test_a_payload_that_does_not_match_raises_and_writes_nothing(payload):
    with pytest.raises(ValidationError):
        publish(WIDGET_ORDERED, payload)
    assert not Event.objects.exists()


def test_a_payload_of_another_type_raises():
    with pytest.raises(TypeError, match="WidgetOrdered"):
        publish(WIDGET_ORDERED, WidgetAudited(order_id=1))


def test_payloads_are_frozen():
    payload = WidgetOrdered(order_id=1, customer_id=2)
    with pytest.raises(ValidationError):
        payload.order_id = 3


def test_types_are_found_by_name_with_a_json_schema():
    event_type = get_event_type("sample.widget.ordered.v1")
    schema = event_type.json_schema()
    assert schema["title"] == "sample.widget.ordered.v1"
    assert schema["description"] == "A customer ordered a widget."
    assert schema["properties"]["order_id"]["type"] == "integer"
    assert set(schema["required"]) == {"order_id", "customer_id"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", ["widget.ordered", "Sample.widget.ordered.v1", "a.b.c.v0"])
def test_names_must_be_versioned_and_dotted(name):
    with pytest.raises(ValueError, match="v<major>"):
        EventType(name, WidgetOrdered)


def test_a_name_cannot_be_declared_twice_with_another_payload():
    with pytest.raises(ValueError, match="declared twice"):
        EventType("sample.widget.ordered.v1", WidgetAudited)
