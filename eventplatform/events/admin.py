from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import (
    Case,
    CharField,
    Count,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from .chains import event_chain
from .delivery import retry_now, send_test_event
from .models import (
    WEBHOOK_HANDLER_PREFIX,
    WEBHOOK_SECRET_PREFIX,
    ApiToken,
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookSubscription,
    validate_webhook_secret,
)
from .permissions import VIEW_DELIVERIES, holds
from .replay import replay
from .urlpolicy import endpoint

Status = Delivery.Status
# The window of a webhook subscription's success rate, as on the event health page.
SUCCESS_RATE_WINDOW = timedelta(hours=24)

# Dead letters first, then failures awaiting a retry: what an operator comes to the list for.
URGENCY = Case(
    When(status=Status.DEAD, then=Value(0)),
    When(status=Status.FAILED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def masked(secret: str) -> str:
    """Enough of a secret to tell one from another (``whsec_…abcd``), never enough to use."""
    prefix = WEBHOOK_SECRET_PREFIX if secret.startswith(WEBHOOK_SECRET_PREFIX) else ""
    return f"{prefix}…{secret[-4:]}"


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["handler", "status", "attempts", "duration_ms", "finished_at", "last_error"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Replay (deliver again to every handler)", permissions=["replay"])
def replay_selected(modeladmin, request, queryset):
    replayed = replay(queryset)
    level = messages.WARNING if replayed.skipped_running else messages.SUCCESS
    modeladmin.message_user(request, replayed.summary, level)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["position", "type", "time", "id"]
    list_filter = ["type", "time", "deliveries__status"]
    search_fields = ["id", "type", "=correlation_id"]
    date_hierarchy = "time"
    inlines = [DeliveryInline]
    actions = [replay_selected]
    readonly_fields = [
        "position",
        "id",
        "type",
        "source",
        "time",
        "payload",
        "audience",
        "correlation_id",
        "causation_id",
    ]
    # The change page ends with the event's chain: what the request caused, down to its last
    # reaction.
    change_form_template = "events/event_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, unquote(object_id))
        chain = {
            "chain": event_chain(event.correlation_id) if event and event.correlation_id else [],
            # As the deliveries inline: for those who may see deliveries.
            "show_deliveries": holds(request.user, VIEW_DELIVERIES),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **chain})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the outbox is the record

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("events.change_delivery")


@admin.action(description="Retry now (failed and dead deliveries)", permissions=["change"])
def retry_selected(modeladmin, request, queryset):
    retried = retry_now(queryset)
    skipped = queryset.count() - len(retried)
    modeladmin.message_user(
        request, f"{len(retried)} deliveries queued for another attempt.", messages.SUCCESS
    )
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} left alone: only failed and dead deliveries are retried.",
            messages.WARNING,
        )


class DeliveryAttemptInline(admin.TabularInline):
    """A delivery's attempts, oldest first: the record of what each run met."""

    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "outcome",
        "http_status",
        "response_excerpt",
        "error",
    ]
    readonly_fields = fields
    verbose_name = "attempt"
    verbose_name_plural = "history"

    def has_view_permission(self, request, obj=None):
        # Attempts are part of their delivery's record: whoever may read one reads them.
        return holds(request.user, VIEW_DELIVERIES)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "handler",
        "event_type",
        "status_badge",
        "attempts",
        "duration_ms",
        "created_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "handler", "event__type", "created_at"]
    search_fields = ["handler", "event__type", "event__id", "last_error"]
    date_hierarchy = "created_at"
    # The list applies the model's ordering (newest first) over any queryset's: it must be
    # the admin's own.
    ordering = [URGENCY.asc(), "-created_at"]
    actions = [retry_selected]
    inlines = [DeliveryAttemptInline]
    list_select_related = ["event"]
    readonly_fields = [
        "event",
        "handler",
        "status",
        "attempts",
        "created_at",
        "enqueued_at",
        "started_at",
        "finished_at",
        "duration_ms",
        "next_attempt_at",
        "lease_expires_at",
        "claimed_by",
        "replayed_at",
        "last_error",
        "formatted_traceback",
    ]
    exclude = ["traceback"]

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="delivery-status delivery-status-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description="traceback")
    def formatted_traceback(self, obj):
        return format_html(
            "<pre style='white-space:pre-wrap;font-size:12px'>{}</pre>", obj.traceback or "-"
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's "Retry now" asks for the change permission; a delivery itself is a record
        # and its page is view-only.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # the outbox is the record


class WebhookSubscriptionForm(forms.ModelForm):
    """The signing secret is write-only: a new one may be entered, the stored one never shown."""

    # An address typed without a scheme is taken as https (Django 6's default); the model's
    # validation still holds the URL to the outbound policy.
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text=WebhookSubscription._meta.get_field("url").help_text,
    )
    new_secret = forms.CharField(
        label="New signing secret",
        required=False,
        validators=[validate_webhook_secret],
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the current secret; a new subscription gets a generated "
        "one. It is shown once, after saving.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "event_types", "url", "active"]

    def save(self, commit=True):
        if self.cleaned_data["new_secret"]:
            self.instance.secret = self.cleaned_data["new_secret"]
        if "active" in self.changed_data and self.instance.active:
            self.instance.reactivate()
        return super().save(commit)


def with_attempt_summary(subscriptions: QuerySet[WebhookSubscription]) -> QuerySet:
    """Each subscription with its attempts of the last 24 hours (all, succeeded) and the last
    answer its receiver gave: subqueries of the one query that reads the page."""
    handler = Concat(Value(WEBHOOK_HANDLER_PREFIX), Cast(OuterRef("pk"), CharField()))
    attempts = DeliveryAttempt.objects.filter(delivery__handler=handler)
    recent = attempts.filter(started_at__gte=timezone.now() - SUCCESS_RATE_WINDOW)
    answered = attempts.filter(http_status__isnull=False).order_by("-id")

    def count(selected: QuerySet[DeliveryAttempt]) -> Coalesce:
        counted = selected.order_by().values("delivery__handler").annotate(n=Count("pk"))
        return Coalesce(Subquery(counted.values("n")), 0)

    return subscriptions.annotate(
        recent_attempts=count(recent),
        recent_successes=count(recent.filter(outcome=DeliveryAttempt.Outcome.SUCCEEDED)),
        last_status=Subquery(answered.values("http_status")[:1]),
        last_excerpt=Subquery(answered.values("response_excerpt")[:1]),
        last_answered_at=Subquery(answered.values("started_at")[:1]),
    )


@admin.action(
    description="Rotate secret (the old one signs too for a grace period)", permissions=["change"]
)
def rotate_secret(modeladmin, request, queryset):
    for subscription in queryset:
        subscription.rotate_secret()
        modeladmin.log_change(request, subscription, "Rotated the signing secret.")
        modeladmin.show_secret_once(
            request,
            subscription,
            f" Requests are signed with the previous one too until "
            f"{subscription.previous_secret_until:%Y-%m-%d %H:%M} UTC.",
        )


@admin.action(description="Send test event", permissions=["change"])
def send_test(modeladmin, request, queryset):
    for subscription in queryset:
        if not subscription.active:
            modeladmin.message_user(
                request,
                f"“{subscription.name}” is switched off: reactivate it first.",
                messages.WARNING,
            )
            continue
        delivery = send_test_event(subscription)
        modeladmin.message_user(
            request,
            format_html(
                'Test event sent to “{}”: its answer shows on <a href="{}">delivery {}</a> '
                "within seconds, with every attempt.",
                subscription.name,
                reverse("admin:events_delivery_change", args=[delivery.pk]),
                delivery.pk,
            ),
            messages.SUCCESS,
        )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = [
        "name",
        "event_types",
        "endpoint_url",
        "active",
        "success_rate",
        "last_response",
        "disabled_reason",
        "disabled_at",
        "created_at",
    ]
    list_filter = ["active"]
    search_fields = ["name", "event_types", "url"]
    actions = [rotate_secret, send_test]
    # What the platform records of a subscription: shown, never edited.
    record = [
        "success_rate",
        "last_response",
        "consecutive_failures",
        "disabled_reason",
        "disabled_at",
        "created_at",
    ]
    readonly_fields = ["masked_secret", "masked_previous_secret", *record]

    def get_queryset(self, request):
        return with_attempt_summary(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "event_types", "url", "new_secret", "active"]
        secret = ["masked_secret", "masked_previous_secret"]
        if self.has_change_permission(request, obj):
            secret.append("new_secret")
        return ["name", "event_types", "url", *secret, "active", *self.record]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or form.cleaned_data["new_secret"]:
            self.show_secret_once(request, obj)

    def show_secret_once(self, request, obj, note: str = "") -> None:
        # The one time it is shown: receivers need it to verify signatures.
        self.message_user(
            request,
            f"The signing secret of “{obj.name}” is {obj.secret} — copy it now: "
            f"it will not be shown again.{note}",
            messages.WARNING,
        )

    @admin.display(description="URL", ordering="url")
    def endpoint_url(self, obj):
        return endpoint(obj.url)  # its query string may hold the receiver's token

    @admin.display(description="signing secret")
    def masked_secret(self, obj):
        return masked(obj.secret)

    @admin.display(description="previous secret")
    def masked_previous_secret(self, obj):
        if not obj.previous_secret_in_grace():
            return "-"
        return (
            f"{masked(obj.previous_secret)}, signing beside the current one until "
            f"{obj.previous_secret_until:%Y-%m-%d %H:%M} UTC"
        )

    @admin.display(description="success (24 h)")
    def success_rate(self, obj):
        if not obj.recent_attempts:
            return "no attempts"
        rate = 100 * obj.recent_successes / obj.recent_attempts
        return f"{rate:.0f} % of {obj.recent_attempts} attempts"

    @admin.display(description="last response")
    def last_response(self, obj):
        if obj.last_status is None:
            return "-"
        at = f"{obj.last_answered_at:%Y-%m-%d %H:%M} UTC"
        return f"HTTP {obj.last_status} at {at}: {obj.last_excerpt}"


# DRF's token admin lists every API token's key, which is the credential itself.
admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(TokenAdmin):
    """Whose tokens exist, and since when; a superuser revokes one by deleting it."""

    list_display = ["user", "created", "masked_key"]
    list_select_related = ["user"]
    fields = list_display
    readonly_fields = list_display

    @admin.display(description="key")
    def masked_key(self, obj):
        return masked(obj.key)

    def has_add_permission(self, request):
        return False  # clients obtain their own, at POST /api/v1/auth/token/

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
