"""Logging in with a password, on the login page or for an API token, against brute force.

Failed attempts are counted per username and per client address in the cache (Redis, shared
by every web process); past the limit, both ways of logging in answer 429 with
``Retry-After`` until the window ends. Only failures count, so people who type their password
right, many behind one address, are never slowed down. While Redis is unreachable, logins go
unthrottled rather than failing.
"""

import hashlib
import logging
import math
import unicodedata
from collections.abc import Mapping

import redis
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class FailedLogins(SimpleRateThrottle):
    """DRF's throttle interface over an atomic count of attempts in fixed windows.

    Checking an attempt counts it at once, with Redis's atomic increment, and a successful
    login takes its count back (``forgive()``): so however many guesses arrive at once, no
    more than the limit reach the password check in a window. (DRF's own sliding window reads
    and rewrites a list, and concurrent requests overwrite each other's counts.)
    """

    def allow_request(self, request, view) -> bool:
        self.key = self.get_cache_key(request, view)
        if self.key is None:  # nothing to count this attempt by
            return True
        now = self.timer()
        self.window_ends = (now // self.duration + 1) * self.duration
        self.key += f":{int(self.window_ends)}"
        try:
            self.cache.add(self.key, 0, math.ceil(self.window_ends - now))
            return self.cache.incr(self.key) <= self.num_requests
        except (redis.RedisError, ValueError) as error:  # ValueError: the window just ended
            logger.warning("login attempts cannot be counted (%r); not throttling", error)
            self.key = None
            return True

    def wait(self) -> float:
        return self.window_ends - self.timer()

    def forgive(self) -> None:
        """The password was right: this attempt does not count."""
        if self.key is None:
            return
        try:
            self.cache.decr(self.key)
        except (redis.RedisError, ValueError) as error:
            logger.warning("a login attempt cannot be taken back (%r)", error)

    def cache_key_for(self, ident: str | None) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": ident} if ident else None


class FailedLoginsPerAddress(FailedLogins):
    scope = "login-address"

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_key_for(self.get_ident(request))


class FailedLoginsPerUsername(FailedLogins):
    scope = "login-username"

    def get_cache_key(self, request, view) -> str | None:
        # A DRF request's body is in .data (JSON or form); a page's form is in .POST.
        data = getattr(request, "data", request.POST)
        username = data.get("username") if isinstance(data, Mapping) else None
        if not isinstance(username, str) or not username:
            return None
        # As the login form reads it (NFKC: full-width letters are the plain ones), whatever
        # its case. Hashed: any text fits a cache key, and usernames are not written to Redis.
        canonical = unicodedata.normalize("NFKC", username).casefold()
        return self.cache_key_for(hashlib.sha256(canonical.encode()).hexdigest())


LOGIN_THROTTLES = [FailedLoginsPerAddress, FailedLoginsPerUsername]


class ObtainAuthTokenView(ObtainAuthToken):
    """``POST /api/v1/auth/token/``: a token for a username and password."""

    throttle_classes = LOGIN_THROTTLES
    # DRF's view lists its own parsers; ours refuse absurdly nested JSON like every endpoint.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    def get_throttles(self) -> list[FailedLogins]:
        self.throttles = super().get_throttles()
        return self.throttles

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        for throttle in self.throttles:
            throttle.forgive()
        return response


class LoginView(auth_views.LoginView):
    """The login page, throttled as the token endpoint is."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.throttles = [throttle() for throttle in LOGIN_THROTTLES]
        refused = [t for t in self.throttles if not t.allow_request(request, self)]
        if refused:
            # An unbound form: validating this one would try the password after all.
            context = self.get_context_data(form=self.form_class(request), throttled=True)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(math.ceil(max(t.wait() for t in refused)))
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        for throttle in self.throttles:
            throttle.forgive()
        return super().form_valid(form)
