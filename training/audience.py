"""Training's realtime audience: each instructor sees the events of their own courses."""

from eventplatform.events import Group, entitlement, has_role

INSTRUCTORS_ROLE = "instructors"  # the Django group whose members are instructors


def instructor_group(user_id: int) -> Group:
    return Group(f"instructor.{user_id}")


def is_instructor(user) -> bool:
    return has_role(user, INSTRUCTORS_ROLE)


@entitlement
def instructors_see_their_courses(user, roles: set[str]) -> list[Group]:
    return [instructor_group(user.pk)] if INSTRUCTORS_ROLE in roles else []
