"""Live pages: the HTML shows the state as of some event; the socket resumes after it."""

from collections.abc import Callable
from functools import wraps

from ..models import Event
from .consumers import NIL_UUID


def latest_event_id() -> str:
    """The newest event's id, or the nil UUID ("from the start") when there is none."""
    latest = Event.objects.order_by("-position").values_list("id", flat=True).first()
    return str(latest) if latest else NIL_UUID


def live_page(view: Callable) -> Callable:
    """Note the newest event before the view reads any state.

    An event committed while the view renders is then either in the HTML or replayed on
    connect (the page applies it idempotently), never neither.
    """

    @wraps(view)
    def noted(request, *args, **kwargs):
        request.stream_since = latest_event_id()
        return view(request, *args, **kwargs)

    return noted
