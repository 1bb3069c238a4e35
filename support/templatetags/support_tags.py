from datetime import datetime

from django import template
from django.utils import timezone

from ..audience import is_agent as _is_agent

register = template.Library()


@register.filter
def is_agent(user) -> bool:
    """``{% if user|is_agent %}``: whether to show the agents' pages."""
    return _is_agent(user)


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
