from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.http import JsonResponse
from django_q.tasks import async_task
from rest_framework import generics

from .serializers import TicketSerializer


class TicketCreate(generics.CreateAPIView):
    """Saves the ticket; once it is committed, tells the agents and queues the acknowledgement."""

    serializer_class = TicketSerializer

    def perform_create(self, serializer: TicketSerializer) -> None:
        ticket = serializer.save(customer=self.request.user)
        message = {"type": "ticket.created", "ticket": dict(serializer.data)}
        transaction.on_commit(lambda: announce(ticket.pk, message))


class BareTicketCreate(generics.CreateAPIView):
    """The same endpoint without the reactions: what the INSERT alone costs."""

    serializer_class = TicketSerializer

    def perform_create(self, serializer: TicketSerializer) -> None:
        serializer.save(customer=self.request.user)


def announce(ticket_id: int, message: dict) -> None:
    async_to_sync(get_channel_layer().group_send)("agents", message)
    async_task("bench.stock.tasks.acknowledge", ticket_id)


def healthz(request):
    return JsonResponse({"status": "ok"})
