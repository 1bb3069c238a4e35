"""Tickets, their messages, and the operator-edited rules that prioritise them."""

import re
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from eventplatform.events import EventedModel, EventedQuerySet, SettingsCache

SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


# Queue order: most pressing first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
DEFAULT_FIRST_RESPONSE_HOURS = {
    Priority.URGENT: 1,
    Priority.HIGH: 4,
    Priority.NORMAL: 24,
    Priority.LOW: 72,
}


class Status(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# Statuses in which a missed first response still counts against the SLA.
ACTIVE_STATUSES = (Status.OPEN, Status.PENDING)


class Channel(models.TextChoices):
    """How a ticket or a message reached the platform."""

    WEB = "web", "Web"
    API = "api", "API"
    EMAIL = "email", "Email"


class CustomerProfile(models.Model):
    """What prioritisation rules may know about a customer besides what they wrote."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_profile"
    )
    plan = models.CharField(max_length=40, blank=True, help_text="e.g. free, pro, enterprise")
    tier = models.CharField(max_length=40, blank=True, help_text="e.g. standard, vip")

    def __str__(self) -> str:
        return f"{self.user} ({self.plan or 'no plan'})"


class SlaTarget(models.Model):
    """How soon a ticket of a priority must get its first agent response."""

    priority = models.CharField(max_length=10, choices=Priority.choices, unique=True)
    first_response_hours = models.PositiveIntegerField()

    class Meta:
        verbose_name = "SLA target"
        ordering = ["first_response_hours"]

    def __str__(self) -> str:
        return f"{self.get_priority_display()}: first response within {self.first_response_hours} h"

    @classmethod
    def first_response_for(cls, priority: str) -> timedelta:
        """The target for ``priority``: the operator's row, else the documented default."""
        hours = _sla_targets.get().get(priority)
        if hours is None:
            hours = DEFAULT_FIRST_RESPONSE_HOURS[Priority(priority)]
        return timedelta(hours=hours)


_sla_targets = SettingsCache(
    lambda: dict(SlaTarget.objects.values_list("priority", "first_response_hours")), SlaTarget
)


class PrioritisationRule(models.Model):
    """One rule of the ordered list; the first rule that matches a new ticket sets its priority.

    Every condition that is filled in must hold. Keywords match whole words or phrases,
    ignoring case; a rule with no conditions matches every ticket (a catch-all).
    """

    class Field(models.TextChoices):
        SUBJECT_OR_BODY = "subject_or_body", "Subject or body"
        SUBJECT = "subject", "Subject"
        BODY = "body", "Body"

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, help_text="Lower runs first.")
    enabled = models.BooleanField(default=True)
    keywords = models.TextField(
        blank=True, help_text="Words or phrases, one per line; any of them matches."
    )
    match_in = models.CharField(max_length=20, choices=Field.choices, default=Field.SUBJECT_OR_BODY)
    customer_plan = models.CharField(
        max_length=40, blank=True, help_text="Only customers on this plan (blank: any)."
    )
    customer_tier = models.CharField(
        max_length=40, blank=True, help_text="Only customers in this tier (blank: any)."
    )
    priority = models.CharField(max_length=10, choices=Priority.choices)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "prioritisation rule"

    def __str__(self) -> str:
        return f"{self.position}. {self.name} → {self.priority}"

    @classmethod
    def in_force(cls) -> tuple["PrioritisationRule", ...]:
        """The enabled rules, in order. A worker shares them between deliveries: read them,
        never change or save them."""
        return _rules_in_force.get()

    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    def matches(self, *, subject: str, body: str, plan: str, tier: str) -> bool:
        if self.customer_plan and self.customer_plan.casefold() != plan.casefold():
            return False
        if self.customer_tier and self.customer_tier.casefold() != tier.casefold():
            return False
        keywords = self.keyword_list()
        if not keywords:
            return True
        text = {
            self.Field.SUBJECT: subject,
            self.Field.BODY: body,
            self.Field.SUBJECT_OR_BODY: f"{subject}\n{body}",
        }[self.match_in]
        return any(_phrase_pattern(k).search(text) for k in keywords)


_rules_in_force = SettingsCache(
    lambda: tuple(PrioritisationRule.objects.filter(enabled=True)), PrioritisationRule
)


def _phrase_pattern(phrase: str) -> re.Pattern:
    # Whole words only ("ssl" must not match "hassle"); spaces in a phrase match any whitespace.
    words = [re.escape(w) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


# A subject becomes an email's Subject header: one line, no control characters.
validate_single_line = RegexValidator(
    r"[\x00-\x1f\x7f]", inverse_match=True, message="Keep the subject to a single line."
)


class TicketQuerySet(EventedQuerySet):
    services = "support.services (ticket_update, message_post, ...)"

    def with_urgency(self) -> "TicketQuerySet":
        """Annotate ``urgency``, the priority's rank: 0 is the most pressing."""
        return self.annotate(
            urgency=models.Case(
                *(models.When(priority=p, then=models.Value(r)) for p, r in PRIORITY_RANK.items()),
                output_field=models.IntegerField(),
            )
        )

    def most_pressing_first(self) -> "TicketQuerySet":
        """The queue's order: priority, then the nearest first-response due time, then age.

        A ticket not yet prioritised has no due time and waits behind those that do, on
        every database (SQLite and PostgreSQL disagree on where NULLs sort).
        """
        return self.with_urgency().order_by(
            "urgency", models.F("sla_due_at").asc(nulls_last=True), "created_at"
        )


class Ticket(EventedModel):
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH, validators=[validate_single_line])
    body = models.TextField(
        max_length=BODY_MAX_LENGTH, validators=[MaxLengthValidator(BODY_MAX_LENGTH)]
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    prioritised_at = models.DateTimeField(
        null=True, blank=True, help_text="When rules or an agent set the priority."
    )
    priority_reason = models.CharField(
        max_length=120, blank=True, help_text="The rule that matched, or who set it."
    )
    sla_due_at = models.DateTimeField("first response due", null=True, blank=True, db_index=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        default=Channel.WEB,
        help_text="How the customer opened the ticket.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What the ticket's events are about: support/signals.py publishes when a save changes one.
    tracked_fields = ("status", "priority", "sla_due_at", "assignee", "sla_breached_at")

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("support:ticket-detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return reference_for(self.pk)

    def get_agent_url(self) -> str:
        return reverse("support:agent-ticket", args=[self.pk])


def reference_for(ticket_id: int) -> str:
    """The reference customers quote: short, stable, and the same in emails, Slack and pages."""
    return f"T-{ticket_id:05d}"


class Message(models.Model):
    """A reply on a ticket; an internal note is seen by agents only, in every channel."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_messages"
    )
    body = models.TextField(
        max_length=BODY_MAX_LENGTH, validators=[MaxLengthValidator(BODY_MAX_LENGTH)]
    )
    from_agent = models.BooleanField(default=False)
    internal = models.BooleanField(default=False, help_text="Internal note: agents only.")
    channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        default=Channel.WEB,
        help_text="How the message reached the platform.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        kind = "note" if self.internal else "message"
        return f"{kind} on {reference_for(self.ticket_id)} by {self.author}"


class Attachment(models.Model):
    """A file that came with a message; served only by the download view, never as media."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255, help_text="As the sender named it, sanitised.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(help_text="Bytes.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class InboundMail(models.Model):
    """One email as it arrived, stored before the sender's server is answered.

    Processing reads it back from here (a delivery of ``support.email.received.v1``), so a
    crash after the answer loses nothing, and an agent can review a held mail as it was sent.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        HELD = "held", "Held for review"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    message_id = models.CharField(
        "Message-ID",
        max_length=255,
        unique=True,
        help_text="The sender's Message-ID; the same one twice is processed once.",
    )
    from_address = models.CharField(max_length=254, blank=True)
    to_addresses = models.TextField(blank=True, help_text="Envelope and header recipients.")
    subject = models.CharField(max_length=255, blank=True)
    headers = models.TextField(blank=True, help_text="The header block as received.")
    raw = models.BinaryField(help_text="The whole message as received, bytes for bytes.")
    transport = models.CharField(
        max_length=40, help_text='"smtp", or the email provider whose webhook delivered it.'
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    reason = models.CharField(max_length=255, blank=True, help_text="Why it has its status.")
    processed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_mails"
    )
    # Not ``message``: its ``message_id`` column would clash with the header's field.
    ticket_message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_mails",
        help_text="The message it became on its ticket.",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound email"
        indexes = [models.Index(fields=["from_address", "received_at"])]

    def __str__(self) -> str:
        return f"{self.from_address or 'unknown sender'}: {self.subject or '(no subject)'}"
