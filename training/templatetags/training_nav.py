from django import template

from ..audience import is_instructor as user_is_instructor

register = template.Library()


@register.filter
def is_instructor(user) -> bool:
    """Whether to show the instructor's links to this user."""
    return user_is_instructor(user)
