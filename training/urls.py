from django.urls import path  # noqa: F401 - pages and API routes of the training app

app_name = "training"

urlpatterns = []
