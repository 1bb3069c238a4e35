"""Staff API over the outbox: events, their deliveries, and retrying dead letters."""

from django.db.models import Case, Exists, OuterRef, Value, When
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .catalog import all_event_types
from .delivery import retry_now
from .models import Delivery, Event
from .permissions import CHANGE_DELIVERIES, VIEW_DELIVERIES, VIEW_EVENTS, is_operator
from .replay import replay_range, select_events
from .serializers import (
    DeliverySerializer,
    EventDetailSerializer,
    EventFilterSerializer,
    EventSerializer,
    EventTypeSerializer,
    ReplayResultSerializer,
    ReplaySerializer,
)

Status = Delivery.Status


class OperatorPermissions(permissions.BasePermission):
    """What the admin asks of a user for the same work: an active staff account holding the
    model permissions the view lists for the action in ``required_permissions``. An action
    not listed there (OPTIONS, a method not allowed) needs the staff account only."""

    def has_permission(self, request, view) -> bool:
        user, needed = request.user, view.required_permissions.get(view.action, ())
        return is_operator(user, *needed) if needed else bool(user.is_active and user.is_staff)


def with_outcome(events):
    def having(*statuses):
        return Exists(Delivery.objects.filter(event=OuterRef("pk"), status__in=statuses))

    return events.annotate(
        outcome=Case(
            When(having(Status.DEAD), then=Value("dead")),
            When(having(Status.FAILED), then=Value("failed")),
            When(having(Status.PENDING, Status.RUNNING), then=Value("pending")),
            default=Value("succeeded"),
        )
    )


@extend_schema_view(
    list=extend_schema(
        summary="List events, newest first",
        parameters=[EventFilterSerializer],
    ),
    retrieve=extend_schema(summary="One event with its deliveries"),
)
class EventViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [OperatorPermissions]
    required_permissions = {
        "list": [VIEW_EVENTS],
        "retrieve": [VIEW_EVENTS, VIEW_DELIVERIES],
        "replay": [VIEW_EVENTS, CHANGE_DELIVERIES],
    }
    lookup_field = "id"
    lookup_value_converter = "uuid"

    def get_serializer_class(self):
        return EventDetailSerializer if self.action == "retrieve" else EventSerializer

    def get_queryset(self):
        events = with_outcome(Event.objects.order_by("-position"))
        if self.action == "retrieve":
            return events.prefetch_related("deliveries__history")
        wanted = EventFilterSerializer(data=self.request.query_params)
        wanted.is_valid(raise_exception=True)
        criteria = wanted.validated_data
        events = select_events(
            events, type_pattern=criteria.get("type", ""), since=criteria.get("since")
        )
        if outcome := criteria.get("outcome"):
            events = events.filter(outcome=outcome)
        if correlation := criteria.get("correlation_id"):
            events = events.filter(correlation_id=correlation)
        return events

    @extend_schema(
        summary="Replay events by type and time range",
        description="Starts each event's deliveries (or one handler's) over: pending, attempts "
        "back at zero, enqueued. A delivery a worker is running is left alone and counted in "
        "skipped_running. Handlers subscribed since the event get their first delivery.",
        request=ReplaySerializer,
        responses={202: ReplayResultSerializer},
    )
    @action(detail=False, methods=["post"])
    def replay(self, request):
        wanted = ReplaySerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        criteria = wanted.validated_data
        replayed = replay_range(
            type_pattern=criteria["type"],
            since=criteria["since"],
            until=criteria.get("until"),
            handler=criteria.get("handler", ""),
        )
        return Response(ReplayResultSerializer(replayed).data, status=status.HTTP_202_ACCEPTED)


class DeliveryViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [OperatorPermissions]
    required_permissions = {"retrieve": [VIEW_DELIVERIES], "retry": [CHANGE_DELIVERIES]}
    queryset = Delivery.objects.all()
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Retry a failed or dead delivery now",
        request=None,
        responses={202: DeliverySerializer, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        delivery = self.get_object()
        retried = retry_now(Delivery.objects.filter(pk=delivery.pk))
        # Re-read either way: a concurrent retry may have moved it since get_object().
        delivery.refresh_from_db()
        if not retried:
            detail = f"Only failed or dead deliveries are retried; this one is {delivery.status}."
            return Response({"detail": detail}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EventTypeViewSet(viewsets.ViewSet):
    """The catalog of event types, each with the JSON Schema of its payload. Every signed-in
    user may read it: the stream sends them events of these types, and the catalog holds
    shapes, no data (the documentation shows the same)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = EventTypeSerializer

    @extend_schema(responses=EventTypeSerializer(many=True))
    def list(self, request):
        return Response(EventTypeSerializer(all_event_types(), many=True).data)
