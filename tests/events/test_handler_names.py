"""A handler's name is declared, not derived: moving or renaming its function loses nothing."""

import pytest

from eventplatform.events import isolated_handlers
from eventplatform.events.delivery import execute
from eventplatform.events.models import Delivery
from eventplatform.events.outbox import publish
from eventplatform.events.subscriptions import subscribe
from tests.events.sample import WIDGET_ORDERED

pytestmark = pytest.mark.django_db
shipped: list[int] = []


def test_a_delivery_pending_when_its_function_moves_runs_the_function_in_its_new_place(
    django_capture_on_commit_callbacks,
):
    with isolated_handlers():  # this release has ship()

        @subscribe(WIDGET_ORDERED, name="sample.shipping")
        def ship(event):
            raise ConnectionError("the carrier is down")

        with django_capture_on_commit_callbacks(execute=False):
            event = publish(WIDGET_ORDERED, {"order_id": 5, "customer_id": 1})
    delivery = Delivery.objects.get(event=event)
    assert delivery.handler == "sample.shipping"

    with isolated_handlers():  # the next release renamed it (and could have moved it)

        @subscribe(WIDGET_ORDERED, name="sample.shipping")
        def ship_order(event):
            shipped.append(event.data.order_id)

        assert execute(delivery.pk) == Delivery.Status.SUCCEEDED
    assert shipped == [5]


@pytest.mark.usefixtures("handlers")
def test_two_functions_cannot_share_a_name():
    subscribe(WIDGET_ORDERED, name="sample.shipping")(lambda event: None)

    with pytest.raises(ValueError, match="already subscribed"):
        subscribe(WIDGET_ORDERED, name="sample.shipping")(lambda event: None)
