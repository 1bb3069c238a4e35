"""Handshake checks for the stream: where the socket comes from, and who opens it."""

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


def _header(scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return b""


def _token_key(scope) -> str | None:
    scheme, _, key = _header(scope, b"authorization").decode("latin1").partition(" ")
    return key.strip() if scheme.lower() == "token" and key.strip() else None


@database_sync_to_async
def _token_user(key: str):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    """``Authorization: Token <key>`` on the handshake authenticates, over any session.

    A token that does not match leaves the user anonymous: the socket is then refused.
    """

    async def __call__(self, scope, receive, send):
        key = _token_key(scope)
        if key is not None:
            scope["user"] = await _token_user(key)
        return await super().__call__(scope, receive, send)


class StreamOriginValidator:
    """Browsers must connect from an allowed host (cross-site WebSocket hijacking);
    API clients, which send no Origin, must then present a token."""

    def __init__(self, app) -> None:
        self.app = app
        self.browser_checked = AllowedHostsOriginValidator(app)

    async def __call__(self, scope, receive, send):
        if not _header(scope, b"origin") and _token_key(scope) is not None:
            return await self.app(scope, receive, send)
        return await self.browser_checked(scope, receive, send)
