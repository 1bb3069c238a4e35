from django import template
from django.conf import settings
from django.shortcuts import resolve_url
from django.templatetags.static import static
from django.utils.html import format_html

from ..realtime.pages import newest_event_id

register = template.Library()


@register.simple_tag(takes_context=True)
def live_stream_head(context) -> str:
    """The stream client, the last event this page's HTML reflects (resume starts there), and
    where the client sends a user whose login ended.

    Put it in ``{% block head %}`` of a live page, and the page's own script after it. Views
    decorated with ``live_page`` note that event before reading their state.
    """
    request = context["request"]
    since = getattr(request, "stream_since", None) or newest_event_id(request.user)
    return format_html(
        '<meta name="stream-since" content="{}">\n<meta name="login-url" content="{}">\n'
        '<script src="{}" defer></script>',
        since,
        resolve_url(settings.LOGIN_URL),
        static("js/live.js"),
    )
