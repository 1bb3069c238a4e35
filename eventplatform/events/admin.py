from django.contrib import admin, messages
from django.db.models import Case, IntegerField, Value, When
from django.utils.html import format_html

from .delivery import retry_now
from .models import Delivery, Event, WebhookSubscription
from .replay import replay

Status = Delivery.Status


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
    search_fields = ["id", "type"]
    date_hierarchy = "time"
    inlines = [DeliveryInline]
    actions = [replay_selected]
    readonly_fields = ["position", "id", "type", "source", "time", "payload", "audience"]

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
    actions = [retry_selected]
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

    def get_queryset(self, request):
        # Dead letters first, then failures awaiting a retry: what an operator looks for.
        return (
            super()
            .get_queryset(request)
            .annotate(
                urgency=Case(
                    When(status=Status.DEAD, then=Value(0)),
                    When(status=Status.FAILED, then=Value(1)),
                    default=Value(2),
                    output_field=IntegerField(),
                )
            )
            .order_by("urgency", "-created_at")
        )

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


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "event_types", "url", "active", "disabled_reason", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "event_types", "url"]
    readonly_fields = ["disabled_reason", "created_at"]
    fields = ["name", "event_types", "url", "secret", "active", "disabled_reason", "created_at"]
