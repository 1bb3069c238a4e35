"""ASGI entry point: Django for HTTP, the event stream for WebSockets."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventplatform.settings")
django_asgi_app = get_asgi_application()  # loads the apps before the consumers import models

from eventplatform.events.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
