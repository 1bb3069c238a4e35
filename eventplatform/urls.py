from functools import wraps

from anymail import urls as anymail_urls
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import URLPattern, include, path
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from eventplatform import login
from eventplatform.events import api as events_api
from eventplatform.events import metrics as events_metrics
from eventplatform.events import views as events_views


def inbound_webhook(view):
    """An email provider's inbound webhook, enabled only when its posts are authenticated and
    taking mail as large as the mail receiver does.

    Without ``ANYMAIL_WEBHOOK_SECRET`` (or the provider's own signing key) anymail accepts
    anyone's posts and only warns: with DEBUG off the endpoint is then not enabled (404). And
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) would refuse any JSON body over it, so a
    provider posting a 3 MB screenshot base64-encoded in JSON would retry, then drop the mail:
    these views read the body themselves against MAIL_RECEIVER_MAX_BYTES, as base64 (4/3),
    plus room for the JSON around it.
    """

    @wraps(view)
    def enabled_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.DEBUG and not _authenticates(view):
            raise Http404("This provider's inbound webhook is not enabled.")
        limit = settings.MAIL_RECEIVER_MAX_BYTES * 4 // 3 + 64 * 1024
        body = request.read(limit + 1)
        if len(body) > limit:
            return HttpResponse(
                f"The email is larger than {limit} bytes.", status=413, content_type="text/plain"
            )
        request._body = body  # what request.body returns, past Django's own cap
        return view(request, *args, **kwargs)

    return enabled_view


def _authenticates(view) -> bool:
    """Whether anymail checks who posts to ``view``: basic auth from WEBHOOK_SECRET, or the
    provider's signature (anymail then needs no basic auth, and refuses to start without the
    signing key)."""
    try:
        instance = view.view_class(**view.view_initkwargs)
    except ImproperlyConfigured:
        return False
    return bool(instance.basic_auth) or not instance.warn_if_no_basic_auth


# Of django-anymail's webhooks, only the inbound ones: the platform tracks no sent mail.
ANYMAIL_INBOUND_WEBHOOKS = [
    URLPattern(p.pattern, inbound_webhook(p.callback), p.default_args, p.name)
    for p in anymail_urls.urlpatterns
    if "inbound" in (p.name or "")
]

router = DefaultRouter()
router.register("events", events_api.EventViewSet, basename="event")
router.register("deliveries", events_api.DeliveryViewSet, basename="delivery")
router.register("event-types", events_api.EventTypeViewSet, basename="event-type")

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # Pages name their icon; browsers still ask for this one on pages that do not (the admin).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/login/", login.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # One login page, throttled, for everyone: the admin's own would be a second way in.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    # Email providers' inbound webhooks (support by email); each checks the provider's
    # credentials (ANYMAIL settings) itself, and is enabled only when it has them.
    path("anymail/", include((ANYMAIL_INBOUND_WEBHOOKS, "anymail"))),
    path("", include("support.urls")),
    path("", include("training.urls")),
    path("api/v1/auth/token/", login.ObtainAuthTokenView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]),
        name="schema",
    ),
    # The split view serves its script as a file, which the Content-Security-Policy allows;
    # Swagger UI still inserts a <style> element as it renders, on this page only.
    path(
        "api/docs/",
        login_required(
            csp_update({"style-src": ["'unsafe-inline'"]})(
                SpectacularSwaggerSplitView.as_view(
                    url_name="schema", permission_classes=[IsAuthenticated]
                )
            )
        ),
        name="api-docs",
    ),
    path("healthz", events_views.healthz, name="healthz"),
    path("readyz", events_views.readyz, name="readyz"),
    path("metrics", events_metrics.metrics, name="metrics"),
    path("events/health/", events_views.health, name="event-health"),
    path("events/chains/", events_views.chain_search, name="event-chains"),
    path("events/chains/<str:correlation_id>/", events_views.chain, name="event-chain"),
]

# A URL no route matches: JSON under /api/, the usual page elsewhere.
handler404 = "eventplatform.rest.not_found"
