from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from ..realtime.pages import latest_event_id

register = template.Library()


@register.simple_tag(takes_context=True)
def live_stream_head(context) -> str:
    """The stream client and the last event this page's HTML reflects (resume starts there).

    Put it in ``{% block head %}`` of a live page, and the page's own script after it. Views
    decorated with ``live_page`` note that event before reading their state.
    """
    since = getattr(context.get("request"), "stream_since", None) or latest_event_id()
    return format_html(
        '<meta name="stream-since" content="{}">\n<script src="{}" defer></script>',
        since,
        static("js/live.js"),
    )
