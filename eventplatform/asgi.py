"""ASGI entry point: Django for HTTP, the event stream for WebSockets."""

import gc
import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventplatform.settings")
django_asgi_app = get_asgi_application()  # loads the apps before the consumers import models

from eventplatform.events.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})

# Python 3.11 collects its youngest objects once 700 more have been made than freed. An event
# fanned out to a thousand sockets holds an object or two per socket for a moment (the
# wake-ups of their writers), so nearly every fan-out set off a collection in its middle that
# kept what was in flight as if it lived long, and full collections of the whole heap (a few
# hundred thousand objects) followed every few seconds, each stopping the event loop for about
# 200 ms: the stream's slowest deliveries. At 10,000, most fan-outs end before a collection
# starts, and what is in flight rarely reaches the older generations (docs/benchmarks.md).
gc.set_threshold(10_000, *gc.get_threshold()[1:])
