"""Realtime audiences: the groups a socket joins and an event type addresses.

Every user is entitled to ``user.<id>``. Apps declare the other groups and who may see them:
``@entitlement`` registers a function that, given a user and the names of their Django
groups (their roles), returns the audience groups of the app that user may see. Events name
the groups that may see them; a socket receives an event only when the two sets meet. The
backbone names no app's role; it declares one group of its own, ``operators``, for those
who hold its permission to read deliveries (the event health page's audience).

Open sockets follow changes to roles and users by themselves. An entitlement that reads
anything else calls ``entitlements_changed(user_id)`` when that changes, and the user's
sockets check again (see ``realtime.revocation``).
"""

from collections.abc import Callable, Iterable
from typing import NewType

from .permissions import is_operator

Group = NewType("Group", str)
Entitlement = Callable[[object, set[str]], Iterable[Group]]

_entitlements: list[Entitlement] = []


def user_group(user_id: int) -> Group:
    return Group(f"user.{user_id}")


def entitlement(decide: Entitlement) -> Entitlement:
    """Register ``decide(user, roles)``: the groups of an app that ``user`` may see."""
    _entitlements.append(decide)
    return decide


def groups_for_user(user) -> list[Group]:
    """Every group this user may see events of; none for an anonymous user."""
    if not user.is_authenticated:
        return []
    roles = set(user.groups.values_list("name", flat=True))
    groups = [user_group(user.pk)]
    for decide in _entitlements:
        groups.extend(decide(user, roles))
    return groups


OPERATORS = Group("operators")


@entitlement
def operators_see_event_health(user, roles: set[str]) -> list[Group]:
    return [OPERATORS] if is_operator(user) else []


def has_role(user, role: str) -> bool:
    return user.is_authenticated and user.groups.filter(name=role).exists()
