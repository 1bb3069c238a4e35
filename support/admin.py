from django.contrib import admin

from eventplatform.users import display_name

from .models import CustomerProfile, Message, PrioritisationRule, SlaTarget, Ticket
from .services import apply_priority


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = ["author", "from_agent", "internal", "body", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["author"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "customer",
        "status",
        "priority",
        "assignee",
        "sla_due_at",
        "sla_breached_at",
        "created_at",
    ]
    list_filter = [
        "status",
        "priority",
        ("assignee", admin.RelatedOnlyFieldListFilter),
        ("sla_breached_at", admin.EmptyFieldListFilter),
        "created_at",
    ]
    search_fields = ["=id", "subject", "body", "customer__username", "customer__email"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "assignee"]
    raw_id_fields = ["customer", "assignee"]
    readonly_fields = [
        "prioritized_at",
        "priority_reason",
        "first_responded_at",
        "sla_breached_at",
        "created_at",
        "updated_at",
    ]
    inlines = [MessageInline]

    @admin.display(description="reference", ordering="id")
    def reference(self, obj: Ticket) -> str:
        return obj.reference

    def save_model(self, request, obj: Ticket, form, change: bool) -> None:
        # A priority set here moves the SLA due time as it does everywhere else.
        if change and "priority" in form.changed_data:
            apply_priority(obj, obj.priority, f"set by {display_name(request.user)} (admin)")
        super().save_model(request, obj, form, change)


@admin.register(PrioritisationRule)
class PrioritisationRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "position",
        "enabled",
        "priority",
        "match_in",
        "customer_plan",
        "customer_tier",
        "keyword_summary",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "enabled", "priority"]
    list_filter = ["enabled", "priority"]
    search_fields = ["name", "keywords"]
    fieldsets = [
        (None, {"fields": ["name", "position", "enabled", "priority"]}),
        (
            "Conditions (all that are filled in must hold)",
            {"fields": ["keywords", "match_in", "customer_plan", "customer_tier"]},
        ),
    ]

    @admin.display(description="keywords")
    def keyword_summary(self, obj: PrioritisationRule) -> str:
        words = obj.keyword_list()
        return ", ".join(words[:6]) + (" …" if len(words) > 6 else "")


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ["priority", "first_response_hours"]
    list_editable = ["first_response_hours"]


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "plan", "tier"]
    list_filter = ["plan", "tier"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
