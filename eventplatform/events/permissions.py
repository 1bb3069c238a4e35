"""Who may operate the backbone: the admin's model permissions, asked the same way by the
admin, the operator API, the operators' pages, ``/metrics`` and the ``operators`` stream."""

from collections.abc import Callable
from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied

VIEW_EVENTS = "events.view_event"
VIEW_DELIVERIES = "events.view_delivery"
# The admin's "Retry now" and "Replay" actions ask for this one.
CHANGE_DELIVERIES = "events.change_delivery"


def holds(user, permission: str) -> bool:
    """As in the admin, the change permission on a model includes the view permission."""
    change = permission.replace(".view_", ".change_", 1)
    return user.has_perm(permission) or user.has_perm(change)


def is_operator(user, *permissions: str) -> bool:
    """An active staff account holding ``permissions`` (reading deliveries by default), as
    the event health page asks. Superusers hold every permission; not staff, no query."""
    needed = permissions or (VIEW_DELIVERIES,)
    return bool(user.is_active and user.is_staff and all(holds(user, p) for p in needed))


def operator_required(*permissions: str) -> Callable:
    """A page for operators: others are sent to sign in, staff without ``permissions`` get
    403."""

    def decorate(view: Callable) -> Callable:
        @staff_member_required
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not is_operator(request.user, *permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorate
