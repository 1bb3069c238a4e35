"""Live pages: the HTML shows the state as of some event; the socket resumes after it."""

from collections.abc import Callable
from functools import wraps

from ..audience import groups_for_user
from ..models import EventAudience
from .consumers import NIL_UUID


def newest_event_id(user) -> str:
    """The id of the newest event ``user`` may see, or the nil UUID ("from the start") when
    there is none.

    Never the platform's newest: a page would then tell its reader of every event anywhere,
    and how often they happen. Resume needs no more: what the user may not see, their socket
    never sends.
    """
    newest = (
        EventAudience.objects.filter(group__in=groups_for_user(user))
        .order_by("-event_id")
        .values_list("event__id", flat=True)
        .first()
    )
    return str(newest) if newest else NIL_UUID


def live_page(view: Callable) -> Callable:
    """Note the newest event the user may see before the view reads any state.

    An event committed while the view renders is then either in the HTML or replayed on
    connect (the page applies it idempotently), never neither.
    """

    @wraps(view)
    def noted(request, *args, **kwargs):
        request.stream_since = newest_event_id(request.user)
        return view(request, *args, **kwargs)

    return noted
