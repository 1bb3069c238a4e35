from anymail import urls as anymail_urls
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from eventplatform import login
from eventplatform.events import api as events_api
from eventplatform.events import metrics as events_metrics
from eventplatform.events import views as events_views

# Of django-anymail's webhooks, only the inbound ones: the platform tracks no sent mail.
ANYMAIL_INBOUND_WEBHOOKS = [p for p in anymail_urls.urlpatterns if "inbound" in (p.name or "")]

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
    # credentials (ANYMAIL settings) itself.
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
