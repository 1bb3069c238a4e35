from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eventplatform.logging import SAFE_REQUEST_ID

from .catalog import EventType
from .documentation import audience_patterns, handler_names
from .models import Delivery, DeliveryAttempt, Event
from .replay import InvalidCriterion, parse_handler, parse_moment, parse_type_pattern
from .subscriptions import not_configured

OUTCOMES = ["dead", "failed", "pending", "succeeded"]


class CriterionField(serializers.CharField):
    """Text read by one of the parsers the API and the ``replay_events`` command share."""

    def __init__(self, parse: Callable[[str], object], **kwargs) -> None:
        self.parse = parse
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text:
            return text
        try:
            return self.parse(text)
        except InvalidCriterion as error:
            raise serializers.ValidationError(str(error)) from None


@extend_schema_field(OpenApiTypes.DATETIME)
class MomentField(CriterionField):
    def __init__(self, **kwargs) -> None:
        super().__init__(parse_moment, **kwargs)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "outcome",
            "error",
            "http_status",
            "response_excerpt",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    history = DeliveryAttemptSerializer(
        many=True, read_only=True, help_text="One entry per attempt, oldest first."
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "handler",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "enqueued_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "next_attempt_at",
            "claimed_by",
            "replayed_at",
            "history",
        ]


class EventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True, help_text="The CloudEvents id, as on the stream.")
    data = serializers.JSONField(source="payload", read_only=True)
    outcome = serializers.CharField(
        read_only=True,
        help_text=(
            "dead if any delivery is a dead letter, else failed if any awaits a retry, "
            "else pending if any has not finished, else succeeded."
        ),
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "position",
            "type",
            "source",
            "time",
            "data",
            "audience",
            "outcome",
            "correlation_id",
            "causation_id",
        ]


class EventDetailSerializer(EventSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deliveries"]


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    schema = serializers.JSONField(source="json_schema")
    handlers = serializers.SerializerMethodField(
        help_text="The names of the handlers in code that react to it."
    )
    audience = serializers.SerializerMethodField(
        help_text="The stream groups that see it, as patterns such as user.<customer_id>."
    )
    not_configured = serializers.SerializerMethodField(
        help_text="Those of its handlers whose target this deployment has not configured: "
        "they get no delivery."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_handlers(self, event_type: EventType) -> list[str]:
        return handler_names(event_type)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_audience(self, event_type: EventType) -> list[str]:
        return audience_patterns(event_type)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_not_configured(self, event_type: EventType) -> list[str]:
        return not_configured(event_type.name)


class EventFilterSerializer(serializers.Serializer):
    """The event list's query parameters."""

    type = CriterionField(
        parse_type_pattern,
        required=False,
        allow_blank=True,
        help_text="Exact type, or a prefix ending in '*'.",
    )
    since = MomentField(required=False, help_text="Events at or after.")
    outcome = serializers.ChoiceField(OUTCOMES, required=False)
    correlation_id = serializers.RegexField(
        SAFE_REQUEST_ID,
        required=False,
        help_text="The events of one chain: the request id (X-Request-ID) that started it.",
        error_messages={"invalid": "Enter a request id: 1 to 64 of A-Z a-z 0-9 . _ -"},
    )


class ReplaySerializer(serializers.Serializer):
    type = CriterionField(parse_type_pattern, help_text="An event type, or a prefix ending in '*'.")
    since = MomentField(help_text="Events at or after this time.")
    until = MomentField(required=False, help_text="Events before this time.")
    handler = CriterionField(
        parse_handler,
        required=False,
        allow_blank=True,
        help_text="Only this handler, by its name (e.g. support.crm-update).",
    )

    def validate(self, data):
        if data.get("until") and data["until"] <= data["since"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return data


class ReplayResultSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="Events chosen.")
    deliveries = serializers.IntegerField(help_text="Deliveries started over and queued.")
    skipped_running = serializers.IntegerField(
        help_text="Deliveries left alone because a worker was running them."
    )
    kept_since = serializers.DateTimeField(
        allow_null=True,
        help_text="Set when the range reaches back past retention: events before this moment "
        "may have been pruned.",
    )
    summary = serializers.CharField(help_text="What the replay did, in a sentence.")
