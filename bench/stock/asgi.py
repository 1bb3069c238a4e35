"""ASGI entry point of the stock baseline: Django for HTTP, one consumer for WebSockets."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.stock.settings")
django_asgi_app = get_asgi_application()  # loads the apps before the consumer imports

from bench.stock.consumers import StreamConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("ws/", StreamConsumer.as_asgi())]),
    }
)
