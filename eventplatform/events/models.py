import base64
import binascii
import fnmatch
import secrets
import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework.authtoken.models import TokenProxy

from .catalog import get_event_type
from .conf import event_setting
from .urlpolicy import endpoint, validate_outbound_url


class PostgresqlOnly(models.Expression):
    """A column default only PostgreSQL computes; other databases store NULL."""

    allowed_default = True
    output_field = models.BigIntegerField()

    def __init__(self, sql: str) -> None:
        super().__init__()
        self.sql = sql

    def as_sql(self, compiler, connection):
        return "NULL", []

    def as_postgresql(self, compiler, connection):
        return self.sql, []


class Event(models.Model):
    """A domain event, written in the transaction that caused it (the outbox).

    ``position`` orders events for resume; ``id`` is the CloudEvents id clients see. On
    PostgreSQL, where transactions may commit out of position order, the two transaction ids
    let a resume find the events that may have committed after the one a client saw (see
    ``realtime.consumers.unseen_after``). The INSERT computes them: no extra round trip.
    """

    position = models.BigAutoField(primary_key=True)
    transaction_id = models.BigIntegerField(
        null=True,
        editable=False,
        db_default=PostgresqlOnly("pg_current_xact_id()::text::bigint"),
        help_text="PostgreSQL: the transaction that wrote it.",
    )
    oldest_open_transaction = models.BigIntegerField(
        null=True,
        editable=False,
        db_default=PostgresqlOnly("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"),
        help_text="PostgreSQL: the oldest transaction still open when it was written.",
    )
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=120, db_index=True)
    source = models.CharField(max_length=120)
    time = models.DateTimeField(default=timezone.now, db_index=True)
    payload = models.JSONField()
    audience = models.JSONField(default=list, help_text="Realtime groups that may see it.")
    correlation_id = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="The request, or the run outside any request, that caused it.",
    )
    causation_id = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        help_text="The event whose reaction published it; empty for a chain's first.",
    )

    class Meta:
        ordering = ["-position"]
        indexes = [
            models.Index(
                fields=["transaction_id"],
                name="event_transaction",
                condition=Q(transaction_id__isnull=False),
            ),
            # A chain is read by its correlation id, whole: equality only.
            models.Index(fields=["correlation_id"], name="event_correlation"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.position}"

    @cached_property
    def data(self):
        """The payload as its declared, typed model (what handlers read)."""
        return get_event_type(self.type).payload.model_validate(self.payload, strict=False)

    def get_chain_url(self) -> str:
        """The operators' page of every event its request caused; "" for an event older than
        chains."""
        return reverse("event-chain", args=[self.correlation_id]) if self.correlation_id else ""


class EventAudience(models.Model):
    """One row per (event, group): lets a reconnecting socket fetch what it missed by index."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="audiences")
    group = models.CharField(max_length=80)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "event"], name="event_audience_unique")
        ]

    def __str__(self) -> str:
        return f"{self.group} may see {self.event_id}"


class Delivery(models.Model):
    """One handler's reaction to one event, with the record of its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (retry scheduled)"
        DEAD = "dead", "Dead letter"
        SKIPPED = "skipped", "Skipped"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200, db_index=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(
        max_length=40,
        blank=True,
        help_text="The worker cluster that holds it, or ran its last attempt.",
    )
    replayed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an operator last replayed it; its attempts started over then.",
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="Last attempt's start.")
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Last attempt.")
    last_error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="delivery_once_per_handler")
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="delivery_due",
                condition=Q(status__in=["pending", "running", "failed"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler} for {self.event_id}"


class DeliveryAttempt(models.Model):
    """One run of a delivery's handler, kept beside the delivery's summary of its last one."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        RETRY_LATER = "retry_later", "Told to retry later"
        TIMED_OUT = "timed_out", "Timed out"
        SKIPPED = "skipped", "Skipped"
        DEAD = "dead", "Failed for good"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="history")
    number = models.PositiveIntegerField(help_text="The delivery's attempt count at its start.")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The receiver's answer, for an HTTP call."
    )
    response_excerpt = models.CharField(
        max_length=200, blank=True, help_text="The start of the receiver's answer."
    )

    class Meta:
        ordering = ["id"]  # the order they were recorded in: oldest first

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"


WEBHOOK_SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def validate_webhook_secret(secret: str) -> None:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except binascii.Error:
        key = b""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise ValidationError(
            "Enter a Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes.",
            code="invalid",
        )


class WebhookSubscription(models.Model):
    """An operator's endpoint: every event whose type matches is POSTed to it, signed."""

    name = models.CharField(max_length=100)
    event_types = models.CharField(
        max_length=200, help_text="A type, or a pattern such as support.* or *.created.v1."
    )
    url = models.URLField(
        max_length=500,
        validators=[validate_outbound_url],
        help_text="A public http(s) address; private and internal ones are refused.",
    )
    secret = models.CharField(
        max_length=100,
        default=new_webhook_secret,
        validators=[validate_webhook_secret],
        help_text="Standard Webhooks secret (whsec_...); the receiver verifies signatures with it.",
    )
    previous_secret = models.CharField(
        max_length=100,
        blank=True,
        help_text="The secret a rotation replaced: still signed with until its grace ends.",
    )
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Failed attempts since the last success or reactivation."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.event_types} -> {endpoint(self.url)})"

    @property
    def handler_name(self) -> str:
        return f"{WEBHOOK_HANDLER_PREFIX}{self.pk}"

    def matches(self, event_type: str) -> bool:
        # The backbone's own types (health snapshots, the test event an operator sends to one
        # subscription) are operations, not the domain events subscriptions are for.
        return not event_type.startswith(BACKBONE_TYPE_PREFIX) and fnmatch.fnmatchcase(
            event_type, self.event_types
        )

    def previous_secret_in_grace(self) -> str:
        """The secret the last rotation replaced while its grace period runs, else "": requests
        are signed with it too, so that receivers switch over in their own time."""
        if self.previous_secret_until and timezone.now() < self.previous_secret_until:
            return self.previous_secret
        return ""

    def rotate_secret(self) -> None:
        """Sign with a new secret from now on, and with the current one too for the grace
        period (a rotation within it drops the secret the last one replaced)."""
        grace = timedelta(hours=event_setting("WEBHOOK_SECRET_GRACE_HOURS"))
        self.previous_secret, self.secret = self.secret, new_webhook_secret()
        self.previous_secret_until = timezone.now() + grace
        self.save(update_fields=["secret", "previous_secret", "previous_secret_until"])

    def reactivate(self) -> None:
        """Switch it back on, its run of failures forgotten (saved by the caller)."""
        self.active = True
        self.disabled_reason = ""
        self.disabled_at = None
        self.consecutive_failures = 0


class SettingsVersion(models.Model):
    """The version of the operators' settings that workers keep while it lasts: one row, given
    a new token with every change (``settings_cache``)."""

    ROW = 1

    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"settings version {self.token}"


WEBHOOK_HANDLER_PREFIX = "webhook:"
# Declared in ``webhooks``: what an operator sends to check that a subscription works.
BACKBONE_TYPE_PREFIX = "events."
WEBHOOK_TEST_EVENT_TYPE = BACKBONE_TYPE_PREFIX + "webhook.tested.v1"


class ApiToken(TokenProxy):
    """A REST API client's token as operators see it: its name is its owner, never its key,
    so that pages, confirmations and the admin's history cannot show the credential."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user}"
