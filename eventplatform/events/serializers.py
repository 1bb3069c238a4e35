from rest_framework import serializers

from .models import Delivery, Event
from .subscriptions import get_handler


class DeliverySerializer(serializers.ModelSerializer):
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
        fields = ["id", "position", "type", "source", "time", "data", "audience", "outcome"]


class EventDetailSerializer(EventSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deliveries"]


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    schema = serializers.JSONField(source="json_schema")


class ReplaySerializer(serializers.Serializer):
    type = serializers.CharField(help_text="An event type, or a prefix ending in '*'.")
    since = serializers.DateTimeField(help_text="Events at or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Events before this time.")
    handler = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Only this handler, by its name (e.g. support.crm-update).",
    )

    def validate_handler(self, value: str) -> str:
        if value:
            try:
                get_handler(value)
            except KeyError:
                message = "No handler of this name is subscribed."
                raise serializers.ValidationError(message) from None
        return value

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
