"""Web pages: the customer portal and the agents' live queue and ticket page.

Each page renders its state in HTML; static/js/support-*.js applies live events on top.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from eventplatform.events import live_page

from . import services
from .audience import is_agent
from .forms import ReplyForm, TicketForm, TicketUpdateForm
from .models import ACTIVE_STATUSES, Priority, Status, Ticket


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


# --- customers --------------------------------------------------------------------------------


@login_required
@live_page
def ticket_list(request: HttpRequest) -> HttpResponse:
    tickets = Ticket.objects.filter(customer=request.user).select_related("assignee")
    return render(request, "support/ticket_list.html", {"tickets": tickets})


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
            "messages_list": services.message_list(ticket=ticket, user=request.user),
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
        "messages_list": services.message_list(ticket=ticket, user=user),
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
