from channels.routing import URLRouter
from channels.sessions import SessionMiddlewareStack
from django.urls import path

from .consumers import StreamConsumer
from .middleware import StreamAuthMiddleware, StreamOriginValidator

websocket_urlpatterns = [
    path("ws/stream/", StreamConsumer.as_asgi()),
]

websocket_application = StreamOriginValidator(
    SessionMiddlewareStack(StreamAuthMiddleware(URLRouter(websocket_urlpatterns)))
)
