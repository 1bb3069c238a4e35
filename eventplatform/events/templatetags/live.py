from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from ..models import Event
from ..realtime.consumers import NIL_UUID

register = template.Library()


@register.simple_tag
def live_stream_head() -> str:
    """The stream client and the last event this page's HTML reflects (resume starts there).

    Put it in ``{% block head %}`` of a live page, and the page's own script after it.
    """
    last = Event.objects.order_by("-position").values_list("id", flat=True).first()
    return format_html(
        '<meta name="stream-since" content="{}">\n<script src="{}" defer></script>',
        last or NIL_UUID,
        static("js/live.js"),
    )
