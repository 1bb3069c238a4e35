"""Support's realtime audience: agents, who see every ticket's events."""

from eventplatform.events import Group, entitlement, has_role

AGENTS_ROLE = "agents"  # the Django group whose members are agents
AGENTS = Group("agents")


def is_agent(user) -> bool:
    return has_role(user, AGENTS_ROLE)


@entitlement
def agents_see_the_queue(user, roles: set[str]) -> list[Group]:
    return [AGENTS] if AGENTS_ROLE in roles else []
