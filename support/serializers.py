from django.contrib.auth import get_user_model
from rest_framework import serializers

from eventplatform.users import display_name

from .audience import AGENTS_ROLE
from .models import (
    BODY_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    Message,
    Priority,
    Status,
    Ticket,
    validate_single_line,
)


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as clients read it."""

    reference = serializers.CharField(read_only=True)
    customer_name = serializers.SerializerMethodField()
    assignee_name = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "body",
            "status",
            "priority",
            "customer",
            "customer_name",
            "assignee",
            "assignee_name",
            "sla_due_at",
            "first_responded_at",
            "sla_breached_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_customer_name(self, ticket: Ticket) -> str:
        return display_name(ticket.customer)

    def get_assignee_name(self, ticket: Ticket) -> str:
        return display_name(ticket.assignee)


class TicketCreateSerializer(serializers.Serializer):
    """What a customer submits: the rest is decided by the platform."""

    subject = serializers.CharField(
        max_length=SUBJECT_MAX_LENGTH, validators=[validate_single_line]
    )
    body = serializers.CharField(max_length=BODY_MAX_LENGTH)


class TicketUpdateSerializer(serializers.Serializer):
    """What an agent may change; fields left out stay as they are."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(groups__name=AGENTS_ROLE),
        required=False,
        allow_null=True,
        help_text="An agent's user id, or null to unassign.",
    )


class TicketFilterSerializer(serializers.Serializer):
    """Query parameters of the ticket list, validated so a typo is a 400, not an empty page."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.CharField(
        required=False, help_text="An agent's user id, 'me', or 'none' for unassigned."
    )

    def validate_assignee(self, value: str) -> str:
        # Ids are 64-bit: a longer number would overflow the query, not find nothing.
        if value not in ("me", "none") and not (value.isdigit() and int(value) < 2**63):
            raise serializers.ValidationError("Use a user id, 'me' or 'none'.")
        return value


class MessageSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "author",
            "author_name",
            "from_agent",
            "internal",
            "body",
            "created_at",
        ]
        read_only_fields = fields

    def get_author_name(self, message: Message) -> str:
        return display_name(message.author)


class MessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX_LENGTH)
    internal = serializers.BooleanField(
        default=False, help_text="Agents only: an internal note that the customer never sees."
    )
