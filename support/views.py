"""Web pages: the customer portal, the agents' live queue and ticket page, and attachments.

Each page renders its state in HTML; static/js/support-*.js applies live events on top.
"""

import logging
from collections.abc import Callable
from functools import wraps

from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from eventplatform.events import live_page

from . import services
from .audience import is_agent
from .forms import ReplyForm, TicketForm, TicketUpdateForm
from .models import ACTIVE_STATUSES, Attachment, Message, Priority, Status, Ticket

logger = logging.getLogger(__name__)

TICKETS_PER_PAGE = 25


def agent_required(view: Callable) -> Callable:
    """Anonymous users log in first; signed-in users who are not agents get a 403."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_agent(request.user):
            raise PermissionDenied("Agents only.")
        return view(request, *args, **kwargs)

    return checked


def _form_errors(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def _conversation(ticket: Ticket, user) -> QuerySet[Message]:
    """The messages ``user`` may read on a ticket page, with their attachments in one query."""
    return services.message_list(ticket=ticket, user=user).prefetch_related("attachments")


# --- customers --------------------------------------------------------------------------------


@login_required
@live_page
def ticket_list(request: HttpRequest) -> HttpResponse:
    # Newest first, a page at a time: a customer with years of tickets gets an answer too.
    tickets = Paginator(Ticket.objects.filter(customer=request.user), TICKETS_PER_PAGE)
    return render(
        request, "support/ticket_list.html", {"tickets": tickets.get_page(request.GET.get("page"))}
    )


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(customer=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                f"Thanks! Your ticket {ticket.reference} is in our queue; "
                "we have emailed you a confirmation.",
            )
            return redirect(ticket)
    return render(request, "support/ticket_new.html", {"form": form})


def _customer_ticket(request: HttpRequest, pk: int) -> Ticket:
    # Another customer's ticket is a 404: its existence is not ours to reveal.
    return get_object_or_404(
        Ticket.objects.select_related("assignee"), pk=pk, customer=request.user
    )


@login_required
@live_page
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if is_agent(request.user) and not Ticket.objects.filter(pk=pk, customer=request.user).exists():
        return redirect("support:agent-ticket", pk=pk)
    ticket = _customer_ticket(request, pk)
    return _render_customer_ticket(request, ticket, ReplyForm())


def _render_customer_ticket(
    request: HttpRequest, ticket: Ticket, form: ReplyForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "support/ticket_detail.html",
        {
            "ticket": ticket,
            "messages_list": _conversation(ticket, request.user),
            "form": form,
            "closed": ticket.status == Status.CLOSED,
        },
        status=status,
    )


@login_required
@require_POST
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _customer_ticket(request, pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.message_post(
                ticket=ticket, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            return redirect(ticket)
    return _render_customer_ticket(request, ticket, form, status=400)


# --- agents -----------------------------------------------------------------------------------

QUEUE_VIEWS = {"active": "Open and pending", "mine": "Assigned to me", "all": "All tickets"}


@agent_required
@live_page
def queue(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view", "active")
    if view not in QUEUE_VIEWS:
        view = "active"
    tickets = Ticket.objects.select_related("customer", "assignee").most_pressing_first()
    if view in ("active", "mine"):
        tickets = tickets.filter(status__in=ACTIVE_STATUSES)
    if view == "mine":
        tickets = tickets.filter(assignee=request.user)
    return render(
        request,
        "support/queue.html",
        {"tickets": tickets[:500], "view": view, "views": QUEUE_VIEWS},
    )


def _agent_ticket_context(ticket: Ticket, user, reply_form: ReplyForm | None = None) -> dict:
    return {
        "ticket": ticket,
        "messages_list": _conversation(ticket, user),
        "form": reply_form or ReplyForm(),
        "statuses": Status.choices,
        "priorities": Priority.choices,
    }


@agent_required
@live_page
def agent_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.select_related("customer", "assignee"), pk=pk)
    return render(request, "support/agent_ticket.html", _agent_ticket_context(ticket, request.user))


@agent_required
@require_POST
def agent_post_message(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.select_related("customer", "assignee"), pk=pk)
    form = ReplyForm(request.POST)
    internal = request.POST.get("kind") == "note"
    if form.is_valid():
        try:
            services.message_post(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                internal=internal,
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Internal note added." if internal else "Reply sent.")
            return redirect("support:agent-ticket", pk=pk)
    return render(
        request,
        "support/agent_ticket.html",
        _agent_ticket_context(ticket, request.user, form),
        status=400,
    )


@agent_required
@require_POST
def agent_update_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=pk)
    form = TicketUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That change is not possible.")
        return redirect("support:agent-ticket", pk=pk)
    changes = {k: v for k, v in form.cleaned_data.items() if k in ("status", "priority") and v}
    if form.cleaned_data["assign"] == "me":
        changes["assignee"] = request.user
    elif form.cleaned_data["assign"] == "none":
        changes["assignee"] = None
    try:
        services.ticket_update(ticket=ticket, by=request.user, **changes)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("support:agent-ticket", pk=pk)


# --- attachments ------------------------------------------------------------------------------

# Types a browser shows as what they are and never runs as a page of this site. Anything else
# (HTML, SVG, XML, scripts, or a type the sender made up) is served as opaque bytes.
SAFE_CONTENT_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)


def served_content_type(declared: str) -> str:
    """The Content-Type a download is served with: the declared media type when it is safe,
    else ``application/octet-stream``. Parameters (a charset) are dropped: no page is rendered."""
    media_type = declared.split(";", 1)[0].strip().lower()
    return media_type if media_type in SAFE_CONTENT_TYPES else "application/octet-stream"


@login_required
@require_GET
@cache_control(private=True)
@csp_update({"sandbox": True})
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """A message's file, for whoever may read that message; anyone else gets a 404, so that
    an attachment's existence is not revealed."""
    attachment = get_object_or_404(Attachment.objects.select_related("message__ticket"), pk=pk)
    ticket = attachment.message.ticket
    readable = (
        is_agent(request.user) or ticket.customer_id == request.user.pk
    ) and services.message_list(ticket=ticket, user=request.user).filter(
        pk=attachment.message_id
    ).exists()
    if not readable:
        raise Http404("No such attachment.")
    try:
        file = attachment.file.open("rb")
    except FileNotFoundError:
        # The row outlived its file (storage restored from an older backup, say).
        logger.error("attachment %s: file %s is missing from storage", pk, attachment.file.name)
        raise Http404("No such attachment.") from None
    response = FileResponse(
        file,
        as_attachment=True,
        filename=attachment.filename,
        content_type=served_content_type(attachment.content_type),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
