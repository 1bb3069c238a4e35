from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import json_script
from django.utils.safestring import SafeString

from ..audience import is_agent as _is_agent
from ..models import ACTIVE_STATUSES, PRIORITY_RANK, Channel, Priority, Status

register = template.Library()


@register.filter
def is_agent(user) -> bool:
    """``{% if user|is_agent %}``: whether to show the agents' pages."""
    return _is_agent(user)


@register.simple_tag
def support_choices() -> SafeString:
    """The labels of statuses, priorities and channels, each priority's queue rank and the
    active statuses, for the pages' scripts: the models define them once, the scripts read them
    here."""
    choices = {
        "status": dict(Status.choices),
        "priority": dict(Priority.choices),
        "channel": dict(Channel.choices),
        "rank": PRIORITY_RANK,
        "active": ACTIVE_STATUSES,
    }
    return json_script(choices, "support-choices")


def describe_duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def sla_left(due: datetime | None) -> str:
    """'in 3 h 5 min' or 'overdue 12 min': the server-side first paint of the SLA countdown."""
    if due is None:
        return "—"
    seconds = (due - timezone.now()).total_seconds()
    if seconds >= 0:
        return f"in {describe_duration(seconds)}"
    return f"overdue {describe_duration(seconds)}"
