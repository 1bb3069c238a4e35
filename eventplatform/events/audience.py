"""Realtime audiences: the groups a socket joins and an event type addresses.

A user is entitled to ``user.<id>``, to ``agents`` when in the Agents group, and to
``instructor.<id>`` when in the Instructors group. Events name the groups that may see them;
a socket receives an event only when the two sets meet.
"""

from typing import NewType

Group = NewType("Group", str)

AGENTS = Group("agents")
AGENTS_ROLE = "agents"
INSTRUCTORS_ROLE = "instructors"


def user_group(user_id: int) -> Group:
    return Group(f"user.{user_id}")


def instructor_group(user_id: int) -> Group:
    return Group(f"instructor.{user_id}")


def groups_for_user(user) -> list[Group]:
    """Every group this user may see events of; none for an anonymous user."""
    if not user.is_authenticated:
        return []
    roles = set(user.groups.values_list("name", flat=True))
    groups = [user_group(user.pk)]
    if AGENTS_ROLE in roles:
        groups.append(AGENTS)
    if INSTRUCTORS_ROLE in roles:
        groups.append(instructor_group(user.pk))
    return groups


def is_agent(user) -> bool:
    return user.is_authenticated and user.groups.filter(name=AGENTS_ROLE).exists()


def is_instructor(user) -> bool:
    return user.is_authenticated and user.groups.filter(name=INSTRUCTORS_ROLE).exists()
