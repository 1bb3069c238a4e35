"""Admin: tickets with their messages, and the rules and targets operators tune.

Changes with a domain rule (status, priority, assignee, a new message) go through the
services, as they do from the pages and the API; the admin only shows their refusals as form
errors.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError

from . import services
from .models import CustomerProfile, Message, PrioritisationRule, SlaTarget, Ticket

# Ticket fields that change through ``services.ticket_update`` rather than a plain save.
SERVICE_FIELDS = ("status", "priority", "assignee")


class MessageFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.extra_forms:
            if form.errors or not form.has_changed() or form.cleaned_data.get("DELETE"):
                continue
            try:
                services.message_check(
                    ticket=self.instance,
                    author=form.cleaned_data["author"],
                    internal=form.cleaned_data["internal"],
                )
            except PermissionDenied as refusal:
                form.add_error(None, str(refusal))
            except ValidationError as refusal:
                form.add_error(None, refusal)

    def save_new(self, form, commit: bool = True) -> Message:
        """A message added here is posted like any other, so an agent's reply meets the SLA."""
        return services.message_post(
            ticket=self.instance,
            author=form.cleaned_data["author"],
            body=form.cleaned_data["body"],
            internal=form.cleaned_data["internal"],
        )


class MessageInline(admin.StackedInline):
    model = Message
    formset = MessageFormSet
    extra = 0
    fields = ["author", "from_agent", "internal", "body", "created_at"]
    readonly_fields = ["from_agent", "created_at"]
    raw_id_fields = ["author"]


class TicketAdminForm(forms.ModelForm):
    def clean_assignee(self):
        assignee = self.cleaned_data["assignee"]
        if "assignee" in self.changed_data:
            error = services.ticket_change_errors(assignee=assignee).get("assignee")
            if error:
                raise ValidationError(error)
        return assignee


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
    form = TicketAdminForm

    @admin.display(description="reference", ordering="id")
    def reference(self, obj: Ticket) -> str:
        return obj.reference

    def save_model(self, request, obj: Ticket, form, change: bool) -> None:
        changes = {
            field: form.cleaned_data[field]
            for field in SERVICE_FIELDS
            if change and field in form.changed_data
        }
        if changes:
            # Save the other edits as they stand, then make these through the service.
            stored = Ticket.objects.get(pk=obj.pk)
            for field in changes:
                setattr(obj, field, getattr(stored, field))
        super().save_model(request, obj, form, change)
        if changes:
            services.ticket_update(ticket=obj, by=request.user, **changes)
            obj.refresh_from_db()


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
