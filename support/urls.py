from django.urls import path  # noqa: F401 - pages and API routes of the support app

app_name = "support"

urlpatterns = []
