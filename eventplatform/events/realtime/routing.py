from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path

from .consumers import StreamConsumer
from .middleware import StreamOriginValidator, TokenAuthMiddleware

websocket_urlpatterns = [
    path("ws/stream/", StreamConsumer.as_asgi()),
]

websocket_application = StreamOriginValidator(
    AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
)
