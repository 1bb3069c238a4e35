"""The tickets API: customers see and write on their own tickets; agents see and change all."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from eventplatform.idempotency import idempotent_create

from . import services
from .audience import is_agent
from .models import Channel, Ticket
from .serializers import (
    MessageCreateSerializer,
    MessageSerializer,
    TicketCreateSerializer,
    TicketListParameters,
    TicketSerializer,
    TicketUpdateSerializer,
)


class AgentsChangeTickets(permissions.BasePermission):
    """Everyone signed in reads and creates (scoped by the queryset); only agents edit."""

    message = "Only agents change a ticket's status, priority or assignee."

    def has_permission(self, request: Request, view) -> bool:
        if view.action in ("update", "partial_update"):
            return is_agent(request.user)
        return True


# Tickets are read per user: without a signed-in request the schema cannot tell the id's type.
TICKET_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List tickets",
        description="Customers get their own tickets; agents get every ticket.",
        parameters=[TicketListParameters],
    ),
    retrieve=extend_schema(summary="Read a ticket", parameters=[TICKET_ID]),
    create=extend_schema(
        summary="Submit a ticket",
        description="Opens a ticket for the signed-in user. The acknowledgement email, "
        "prioritisation, Slack notice and CRM update follow as independent reactions.",
        request=TicketCreateSerializer,
        responses={201: TicketSerializer},
    ),
    update=extend_schema(
        summary="Change a ticket (agents)",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer},
        parameters=[TICKET_ID],
    ),
    partial_update=extend_schema(
        summary="Change status, priority or assignee (agents)",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer},
        parameters=[TICKET_ID],
    ),
)
@idempotent_create
class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TicketSerializer
    permission_classes = [permissions.IsAuthenticated, AgentsChangeTickets]

    def get_queryset(self) -> QuerySet[Ticket]:
        tickets = Ticket.objects.select_related("customer", "assignee").with_urgency()
        user = self.request.user
        if not is_agent(user):
            # Another customer's ticket does not exist, as far as this user can tell.
            tickets = tickets.filter(customer=user)
        if self.action == "list":
            tickets = self._filtered(tickets)
        return tickets

    def _filtered(self, tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
        params = TicketListParameters(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        wanted = params.validated_data
        if "status" in wanted:
            tickets = tickets.filter(status=wanted["status"])
        if "priority" in wanted:
            tickets = tickets.filter(priority=wanted["priority"])
        assignee = wanted.get("assignee")
        if assignee == "none":
            tickets = tickets.filter(assignee__isnull=True)
        elif assignee == "me":
            tickets = tickets.filter(assignee=self.request.user)
        elif assignee:
            tickets = tickets.filter(assignee_id=int(assignee))
        # The id breaks ties, so that pages never overlap.
        return tickets.order_by(wanted["ordering"], "-id")

    def create(self, request: Request, *args, **kwargs) -> Response:
        incoming = TicketCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        ticket = services.ticket_create(
            customer=request.user, channel=Channel.API, **incoming.validated_data
        )
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        ticket = self.get_object()
        changes = TicketUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        changes.is_valid(raise_exception=True)
        ticket = services.ticket_update(ticket=ticket, by=request.user, **changes.validated_data)
        return Response(TicketSerializer(self.get_queryset().get(pk=ticket.pk)).data)

    @extend_schema(
        methods=["GET"],
        summary="List a ticket's messages",
        description="Customers see public messages; agents also see internal notes.",
        responses={200: MessageSerializer(many=True)},
        parameters=[TICKET_ID],
    )
    @extend_schema(
        methods=["POST"],
        summary="Post a message",
        description="A reply on the ticket. Agents may post an internal note with "
        "`internal: true`; customers may not (403). An agent's public reply is emailed "
        "to the customer.",
        request=MessageCreateSerializer,
        responses={201: MessageSerializer},
        parameters=[TICKET_ID],
    )
    @action(detail=True, methods=["get", "post"], serializer_class=MessageSerializer)
    def messages(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(services.message_list(ticket=ticket, user=request.user))
            return self.get_paginated_response(MessageSerializer(page, many=True).data)
        incoming = MessageCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        message = services.message_post(
            ticket=ticket, author=request.user, channel=Channel.API, **incoming.validated_data
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
