"""Admin: tickets with their messages, and the rules and targets operators tune.

Every change to a ticket or a message goes through the services, as it does from the pages
and the API, and the admin shows their refusals as form errors: a ticket is added as a
customer submits one, then only its status, priority and assignee change. What a customer
wrote, and the messages, are a record: shown, never edited or deleted.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from eventplatform.events import chain_link

from . import events, inbound, services
from .models import (
    CustomerProfile,
    InboundMail,
    Message,
    PrioritisationRule,
    SlaTarget,
    Status,
    Ticket,
)

logger = logging.getLogger(__name__)

# What a customer submits, as through the API; read-only once the ticket exists.
SUBMITTED_FIELDS = ["customer", "subject", "body"]
# What changes afterwards, through ``services.ticket_update``.
SERVICE_FIELDS = ["status", "priority", "assignee"]
# What the services decide and record.
RECORDED_FIELDS = [
    "priority_reason",
    "prioritised_at",
    "sla_due_at",
    "first_responded_at",
    "sla_breached_at",
    "created_at",
    "updated_at",
]


class MessageFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        for form in self.extra_forms:
            if form.errors or not form.has_changed():
                continue
            try:
                services.message_post_check(
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

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TicketAdminForm(forms.ModelForm):
    def clean(self) -> dict:
        cleaned = super().clean()
        changes = {f: cleaned[f] for f in SERVICE_FIELDS if f in self.changed_data and f in cleaned}
        try:
            services.ticket_update_check(**changes)
        except ValidationError as refusal:
            self.add_error(None, refusal)
        return cleaned


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
    form = TicketAdminForm
    actions = ["close"]

    @admin.display(description="reference", ordering="id")
    def reference(self, obj: Ticket) -> str:
        return obj.reference

    def get_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        if obj is None:
            return SUBMITTED_FIELDS
        return [*SUBMITTED_FIELDS, *SERVICE_FIELDS, *RECORDED_FIELDS, "event_chain"]

    def get_readonly_fields(self, request: HttpRequest, obj: Ticket | None = None) -> list[str]:
        return [] if obj is None else [*SUBMITTED_FIELDS, *RECORDED_FIELDS, "event_chain"]

    @admin.display(description="events")
    def event_chain(self, obj: Ticket) -> str:
        """Its submission's chain: the request, the reactions, and what they published."""
        return chain_link(events.TICKET_CREATED, "Follow its submission", ticket_id=obj.pk)

    def get_inlines(self, request: HttpRequest, obj: Ticket | None) -> list:
        # The conversation starts once the ticket exists, as it does for the customer.
        return [] if obj is None else [MessageInline]

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        # A ticket is a record, events included: it is closed, never deleted.
        return False

    def save_model(self, request: HttpRequest, obj: Ticket, form, change: bool) -> None:
        if not change:
            # The admin goes on with ``obj`` (its log entry, its redirect): make it the ticket
            # the service created.
            obj.pk = services.ticket_create(
                customer=obj.customer, subject=obj.subject, body=obj.body
            ).pk
            obj.refresh_from_db()
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if changes:
            services.ticket_update(ticket=obj, by=request.user, **changes)
        obj.refresh_from_db()

    @admin.action(description="Close selected tickets", permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        for ticket in queryset:
            services.ticket_update(ticket=ticket, by=request.user, status=Status.CLOSED)
        closed = len(queryset)
        self.message_user(
            request, f"Closed {closed} ticket{'s' if closed != 1 else ''}.", messages.SUCCESS
        )


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


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    """Email as it arrived, and what became of it; held mail first, for an agent to review.

    Approving a held email runs the same processing as a delivery does, as reviewed by the
    agent (see ``inbound.mail_process``); the record itself is never edited.
    """

    list_display = [
        "received_at",
        "status",
        "from_address",
        "subject",
        "transport",
        "ticket_link",
        "reason",
    ]
    list_filter = ["status", "transport", "received_at"]
    search_fields = ["=message_id", "from_address", "subject", "to_addresses"]
    date_hierarchy = "received_at"
    list_select_related = ["ticket"]
    fields = [
        "status",
        "reason",
        "ticket_link",
        "ticket_message",
        "processed_at",
        "received_at",
        "transport",
        "message_id",
        "from_address",
        "to_addresses",
        "subject",
        "text",
        "headers",
    ]
    readonly_fields = fields
    actions = ["process_after_review", "ignore"]

    def get_ordering(self, request: HttpRequest) -> list:
        held_first = Case(When(status=InboundMail.Status.HELD, then=Value(0)), default=Value(1))
        return [held_first.asc(), "-received_at", "-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMail]:
        # A list of mail need not carry every message whole; a record's page reads its own.
        return super().get_queryset(request).defer("raw", "headers")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mail arrives; it is not written here

    @admin.display(description="ticket", ordering="ticket_id")
    def ticket_link(self, obj: InboundMail):
        if obj.ticket_id is None:
            return "—"
        url = reverse("admin:support_ticket_change", args=[obj.ticket_id])
        return format_html('<a href="{}">{}</a>', url, obj.ticket.reference)

    @admin.display(description="what it says")
    def text(self, obj: InboundMail) -> str:
        return inbound.mail_text(obj)

    @admin.action(description="Create ticket / attach, as reviewed", permissions=["change"])
    def process_after_review(self, request: HttpRequest, queryset: QuerySet[InboundMail]) -> None:
        for mail in queryset:
            if mail.status != InboundMail.Status.HELD:
                self.message_user(
                    request, f"{mail}: only held email is reviewed.", messages.WARNING
                )
                continue
            try:
                mail = inbound.mail_process(mail_id=mail.pk, reviewer=request.user)
            except Exception as error:
                # One email that cannot be processed stays held; the others still are.
                logger.exception("processing inbound email %s after review failed", mail.pk)
                self.message_user(
                    request,
                    f"{mail}: could not be processed ({type(error).__name__}: {error}); "
                    "it stays held.",
                    messages.ERROR,
                )
                continue
            level = messages.SUCCESS if mail.status != InboundMail.Status.HELD else messages.ERROR
            self.message_user(
                request, f"{mail}: {mail.get_status_display()}, {mail.reason}.", level
            )

    @admin.action(description="Ignore (no ticket, no answer)", permissions=["change"])
    def ignore(self, request: HttpRequest, queryset: QuerySet[InboundMail]) -> None:
        ignored = sum(inbound.mail_ignore(mail=mail, by=request.user) for mail in queryset)
        self.message_user(request, f"Ignored {ignored} email(s).", messages.SUCCESS)
