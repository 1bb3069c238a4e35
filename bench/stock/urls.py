from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tickets/", views.TicketCreate.as_view()),
    path("bare/", views.BareTicketCreate.as_view()),
    path("healthz", views.healthz),
]
