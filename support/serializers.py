"""What the tickets API reads and writes.

Input is taken as it is typed, never coerced: in JSON a number, a boolean and a string are
different things, so 2.5 is not user 2, 1 is not true and 7 is not a subject. A form-encoded
body is all text, so there ``"2"`` and ``"true"`` are how an id and a boolean are spelled.
"""

import re

from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework.utils import html

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


def _form_encoded(field: serializers.Field) -> bool:
    return html.is_html_input(field.root.initial_data)


class TextField(serializers.CharField):
    """A string, and only a string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false``; not 1, "yes" or "on"."""

    def to_internal_value(self, data) -> bool:
        if isinstance(data, bool):
            return data
        if _form_encoded(self) and data in ("true", "false"):
            return data == "true"
        self.fail("invalid", input=data)


class AgentField(serializers.PrimaryKeyRelatedField):
    """An agent, by user id: an integer, not 2.5, "2" (in JSON) or true."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            queryset=get_user_model().objects.filter(groups__name=AGENTS_ROLE), **kwargs
        )

    def to_internal_value(self, data):
        typed_id = isinstance(data, int) and not isinstance(data, bool)
        spelled_id = (
            _form_encoded(self) and isinstance(data, str) and data.isascii() and data.isdigit()
        )
        if not (typed_id or spelled_id):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


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

    subject = TextField(max_length=SUBJECT_MAX_LENGTH, validators=[validate_single_line])
    body = TextField(max_length=BODY_MAX_LENGTH)


class TicketUpdateSerializer(serializers.Serializer):
    """What an agent may change; fields left out stay as they are."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = AgentField(
        required=False, allow_null=True, help_text="An agent's user id, or null to unassign."
    )


# The orders the ticket list offers; a leading "-" reverses one.
TICKET_ORDERINGS = ["created_at", "updated_at", "sla_due_at", "urgency"]


class TicketListParameters(serializers.Serializer):
    """The ticket list's query parameters, validated so a typo is a 400, not an empty page."""

    status = serializers.ChoiceField(
        choices=Status.choices, required=False, help_text="Only tickets in this status."
    )
    priority = serializers.ChoiceField(
        choices=Priority.choices, required=False, help_text="Only tickets of this priority."
    )
    assignee = serializers.RegexField(
        # At most 18 digits: every such id fits the 64-bit column, so none overflows a query.
        re.compile(r"\A(?:me|none|[0-9]{1,18})\Z"),
        required=False,
        trim_whitespace=False,
        help_text="Agents: an agent's user id, `me`, or `none` for unassigned.",
        error_messages={"invalid": "Use a user id, 'me' or 'none'."},
    )
    ordering = serializers.ChoiceField(
        choices=[*TICKET_ORDERINGS, *(f"-{field}" for field in TICKET_ORDERINGS)],
        default="-created_at",
        help_text="The order of the list; a leading `-` reverses it.",
    )


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
    body = TextField(max_length=BODY_MAX_LENGTH)
    internal = StrictBooleanField(
        default=False, help_text="Agents only: an internal note that the customer never sees."
    )
