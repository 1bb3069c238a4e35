"""ASGI entry point: Django for HTTP, the event stream for WebSockets."""

import gc
import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventplatform.settings")
django_asgi_app = get_asgi_application()  # loads the apps before the consumers import models

from eventplatform.events.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})

# CPython collects its youngest objects once 700 more have been made than freed. An event
# fanned out to a thousand sockets holds an object or two per socket for a moment (the
# wake-ups of their writers), so a collection ran in the middle of every fan-out and kept
# what was in flight as if it lived long; full collections of the whole heap (a few hundred
# thousand objects) followed every few seconds, each stalling the event loop for 100-200 ms:
# the stream's slowest deliveries. At 10,000, a fan-out to a few thousand sockets ends before
# a collection starts.
gc.set_threshold(10_000, *gc.get_threshold()[1:])
