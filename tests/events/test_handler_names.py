"""A handler's name is declared, not derived: moving or renaming its function loses nothing."""

import pytest

from eventplatform.events.delivery import execute
from eventplatform.events.models import Delivery
from eventplatform.events.outbox import publish
from eventplatform.events.subscriptions import subscribe, unsubscribe
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
shipped: list[int] = []


@pytest.fixture
def shipping():
    yield "sample.shipping"
    unsubscribe("sample.shipping")


def test_a_delivery_pending_when_its_function_moves_runs_the_function_in_its_new_place(
    shipping, django_capture_on_commit_callbacks
):
    @subscribe(WIDGET_ORDERED, name=shipping)
    def ship(event):
        raise ConnectionError("the carrier is down")

    with django_capture_on_commit_callbacks(execute=False):
        event = publish(WIDGET_ORDERED, {"order_id": 5, "customer_id": 1})
    delivery = Delivery.objects.get(event=event)
    assert delivery.handler == "sample.shipping"

    # A new release renames the function (and could move it to another module).
    unsubscribe(shipping)

    @subscribe(WIDGET_ORDERED, name=shipping)
    def ship_order(event):
        shipped.append(event.data.order_id)

    assert execute(delivery.pk) == Delivery.Status.SUCCEEDED
    assert shipped == [5]


def test_two_functions_cannot_share_a_name(shipping):
    subscribe(WIDGET_ORDERED, name=shipping)(lambda event: None)

    with pytest.raises(ValueError, match="already subscribed"):
        subscribe(WIDGET_ORDERED, name=shipping)(lambda event: None)
