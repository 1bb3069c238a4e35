from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api, views

app_name = "support"

router = SimpleRouter()
router.register("tickets", api.TicketViewSet, basename="api-ticket")

urlpatterns = [
    path("tickets/", views.ticket_list, name="ticket-list"),
    path("tickets/new/", views.ticket_new, name="ticket-new"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket-reply"),
    path("agent/queue/", views.queue, name="queue"),
    path("agent/tickets/<int:pk>/", views.agent_ticket, name="agent-ticket"),
    path("agent/tickets/<int:pk>/messages/", views.agent_post_message, name="agent-message"),
    path("agent/tickets/<int:pk>/update/", views.agent_update_ticket, name="agent-update"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment-download"),
    path("api/v1/", include(router.urls)),
]
