from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from eventplatform.events import api as events_api
from eventplatform.events import metrics as events_metrics
from eventplatform.events import views as events_views

router = DefaultRouter()
router.register("events", events_api.EventViewSet, basename="event")
router.register("deliveries", events_api.DeliveryViewSet, basename="delivery")
router.register("event-types", events_api.EventTypeViewSet, basename="event-type")

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # Pages name their icon; browsers still ask for this one on pages that do not (the admin).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("support.urls")),
    path("", include("training.urls")),
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", events_views.healthz, name="healthz"),
    path("readyz", events_views.readyz, name="readyz"),
    path("metrics", events_metrics.metrics, name="metrics"),
    path("events/health/", events_views.health, name="event-health"),
]
