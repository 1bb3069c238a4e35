"""Handshake checks for the stream: where the socket comes from, and who opens it."""

from importlib import import_module
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host

Origin = tuple[str, str, int]  # scheme, host, port
SERVER_SEND = "eventplatform.server_send"  # the scope key of the ASGI server's own ``send``
DEFAULT_PORTS = {"http": 80, "https": 443}


def off_the_view_thread(func):
    """``func`` (which reads the database) as a coroutine run on a pool of threads.

    ``database_sync_to_async`` runs on the one thread Django's synchronous views share: a
    few thousand sockets reconnecting at once queued every API request behind their
    handshakes' queries. The stream's reads share nothing with a view: any thread will do.
    """
    return database_sync_to_async(func, thread_sensitive=False)


def _header(scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return b""


def _token_key(scope) -> str | None:
    scheme, _, key = _header(scope, b"authorization").decode("latin1").partition(" ")
    return key.strip() if scheme.lower() == "token" and key.strip() else None


def _token_user(key: str):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


def _session_user(session_key: str | None):
    # A fresh read, not the session the handshake loaded: it may have ended since.
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return auth.get_user(request)


def current_user(scope, ended_session: str = ""):
    """The user the socket's credentials name now: its token's, or else its session's.

    Anonymous once that token is deleted or its user deactivated, or once the session is
    ``ended_session`` (a logout, whose session may not be deleted yet), expired, or no
    longer valid for its user (deactivated, deleted, password changed).
    """
    key = _token_key(scope)
    if key is not None:
        return _token_user(key)
    session_key = scope["session"].session_key if "session" in scope else None
    if not session_key or session_key == ended_session:
        return AnonymousUser()
    return _session_user(session_key)


class StreamAuthMiddleware(BaseMiddleware):
    """Who opens the socket: ``Authorization: Token <key>`` on the handshake, over any
    session; else the session cookie's user (``current_user``).

    A token that does not match leaves the user anonymous: the socket is then refused. In
    place of Channels' ``AuthMiddleware``, which reads the session's user on the views'
    thread: one wait per handshake there, queued ahead of every view in a reconnect storm.
    """

    async def __call__(self, scope, receive, send):
        scope = dict(scope, user=await off_the_view_thread(current_user)(scope))
        return await super().__call__(scope, receive, send)


def _parse_origin(url: str) -> Origin | None:
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname, port


def _own_origin(scope) -> Origin | None:
    """The origin of the page that would open this socket on this very host, if the host is
    one we serve (a foreign Host header, as DNS rebinding sends, counts for nothing)."""
    host = _header(scope, b"host").decode("latin1")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return _parse_origin(f"{scheme}://{host}")


def allowed_origins(scope) -> set[Origin]:
    trusted = {_parse_origin(origin) for origin in settings.CSRF_TRUSTED_ORIGINS}
    return {origin for origin in {*trusted, _own_origin(scope)} if origin is not None}


class StreamOriginValidator:
    """Browsers must connect from an allowed origin (cross-site WebSocket hijacking): scheme,
    host and port all match the socket's own host or one of ``CSRF_TRUSTED_ORIGINS``. A
    client without ``Origin`` is no browser, and must present a token: a session cookie
    alone is refused."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin").decode("latin1")
        if origin:
            allowed = _parse_origin(origin) in allowed_origins(scope)
        else:
            allowed = _token_key(scope) is not None
        if allowed:
            # The server's own ``send``, for the stream's events: the session middleware's
            # wrapper around it acts on HTTP responses only, and costs every message.
            return await self.app(dict(scope, **{SERVER_SEND: send}), receive, send)
        return await WebsocketDenier()(scope, receive, send)
