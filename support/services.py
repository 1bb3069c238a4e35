"""Support's domain operations: every write to tickets and messages goes through here.

The model signals in ``signals.py`` turn the resulting changes into events, so these
functions only validate, decide and save, each inside one transaction.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.models import Schedule

from eventplatform.compiled import CompiledGet
from eventplatform.users import display_name

from .audience import is_agent
from .models import (
    ACTIVE_STATUSES,
    Channel,
    CustomerProfile,
    Message,
    PrioritisationRule,
    Priority,
    SlaTarget,
    Status,
    Ticket,
)

SLA_CHECK_TASK = "support.tasks.check_sla"


# --- prioritisation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prioritisation:
    priority: str
    reason: str


def _customer_plan_and_tier(customer: AbstractBaseUser) -> tuple[str, str]:
    """The customer's (plan, tier), empty when they have no support profile.

    Read through the relation, so that a ticket loaded with ``select_related(
    "customer__support_profile")`` costs no query here.
    """
    try:
        profile = customer.support_profile
    except CustomerProfile.DoesNotExist:
        return ("", "")
    return (profile.plan, profile.tier)


def priority_evaluate(*, subject: str, body: str, customer: AbstractBaseUser) -> Prioritisation:
    """The priority the first matching enabled rule gives; normal when none matches."""
    plan, tier = _customer_plan_and_tier(customer)
    for rule in PrioritisationRule.in_force():
        if rule.matches(subject=subject, body=body, plan=plan, tier=tier):
            return Prioritisation(rule.priority, f"rule: {rule.name}")
    return Prioritisation(Priority.NORMAL, "no rule matched")


def priority_expected(*, ticket: Ticket) -> str:
    """The priority a message about a new ticket can promise, before or after prioritisation.

    The acknowledgement and the Slack notice run beside prioritisation, not after it, so
    they evaluate the same rules when it has not run yet.
    """
    if ticket.prioritised_at is not None:
        return ticket.priority
    return priority_evaluate(
        subject=ticket.subject, body=ticket.body, customer=ticket.customer
    ).priority


PRIORITY_FIELDS = ["priority", "priority_reason", "prioritised_at", "sla_due_at", "updated_at"]


def _priority_apply(ticket: Ticket, priority: str, reason: str) -> None:
    """Set the priority and what follows from it (the SLA due time); the caller saves."""
    ticket.priority = priority
    ticket.priority_reason = reason
    ticket.prioritised_at = timezone.now()
    ticket.sla_due_at = ticket.created_at + SlaTarget.first_response_for(priority)


# Only the ticket is locked; its customer and their profile are read with it.
_TICKET_LOCKED = CompiledGet(
    Ticket.objects.select_for_update(of=("self",)).select_related("customer__support_profile")
)


def ticket_prioritise(*, ticket_id: int) -> Ticket:
    """Apply the rules to a new ticket, once: a retry, or an agent who set it first, wins."""
    with transaction.atomic():
        ticket = _TICKET_LOCKED.get(ticket_id)
        if ticket.prioritised_at is not None:
            return ticket
        result = priority_evaluate(
            subject=ticket.subject, body=ticket.body, customer=ticket.customer
        )
        _priority_apply(ticket, result.priority, result.reason)
        ticket.save(update_fields=PRIORITY_FIELDS)
    return ticket


# --- tickets ----------------------------------------------------------------------------------


def ticket_create(
    *, customer: AbstractBaseUser, subject: str, body: str, channel: str = Channel.WEB
) -> Ticket:
    """Open a ticket for ``customer``; raise ``ValidationError`` naming the field otherwise."""
    ticket = Ticket(customer=customer, subject=subject.strip(), body=body.strip(), channel=channel)
    # The customer is a user row the caller has read already (the signed-in user): checking
    # that it exists would read it again, on every ticket.
    ticket.full_clean(exclude=["customer"])
    with transaction.atomic():
        ticket.save()
    return ticket


_UNCHANGED = object()


def ticket_update_check(
    *, status: str | None = None, priority: str | None = None, assignee: object = _UNCHANGED
) -> None:
    """Raise ``ValidationError`` naming each field of a change that ``ticket_update`` refuses."""
    errors = {}
    if status is not None and status not in Status.values:
        errors["status"] = f"{status!r} is not a status."
    if priority is not None and priority not in Priority.values:
        errors["priority"] = f"{priority!r} is not a priority."
    if assignee is not _UNCHANGED and assignee is not None and not is_agent(assignee):
        errors["assignee"] = "Tickets are assigned to agents only."
    if errors:
        raise ValidationError(errors)


def ticket_update(
    *,
    ticket: Ticket,
    by: AbstractBaseUser,
    status: str | None = None,
    priority: str | None = None,
    assignee: object = _UNCHANGED,
) -> Ticket:
    """An agent, or an operator allowed to change tickets, changes status, priority or assignee
    (a user, or ``None`` to unassign)."""
    if not (is_agent(by) or by.has_perm("support.change_ticket")):
        raise PermissionDenied("Only agents change a ticket's status, priority or assignee.")
    ticket_update_check(status=status, priority=priority, assignee=assignee)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if status is not None:
            ticket.status = status
        if priority is not None and priority != ticket.priority:
            _priority_apply(ticket, priority, f"set by {display_name(by)}")
        if assignee is not _UNCHANGED:
            ticket.assignee = assignee
        ticket.save()
    return ticket


# --- messages ---------------------------------------------------------------------------------


def message_post_check(*, ticket: Ticket, author: AbstractBaseUser, internal: bool = False) -> bool:
    """Raise unless ``author`` may write this message on ``ticket``; return whether an agent is
    writing it."""
    agent = is_agent(author)
    if not agent and ticket.customer_id != author.pk:
        raise PermissionDenied("Customers write on their own tickets only.")
    if internal and not agent:
        raise PermissionDenied("Only agents write internal notes.")
    if not agent and ticket.status == Status.CLOSED:
        raise ValidationError({"body": "This ticket is closed; please open a new one."})
    return agent


def message_post(
    *,
    ticket: Ticket,
    author: AbstractBaseUser,
    body: str,
    internal: bool = False,
    channel: str = Channel.WEB,
) -> Message:
    """Add a reply or, for agents, an internal note; a first public agent reply meets the SLA."""
    agent = message_post_check(ticket=ticket, author=author, internal=internal)
    message = Message(
        ticket=ticket,
        author=author,
        body=body.strip(),
        from_agent=agent,
        internal=internal,
        channel=channel,
    )
    message.full_clean()
    with transaction.atomic():
        message.save()
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if agent and not internal and locked.first_responded_at is None:
            locked.first_responded_at = message.created_at
            locked.save()
        elif not agent and locked.status in (Status.PENDING, Status.RESOLVED):
            # The customer wrote back: the ticket needs an agent again.
            locked.status = Status.OPEN
            locked.save()
    return message


def message_list(*, ticket: Ticket, user: AbstractBaseUser) -> QuerySet[Message]:
    """The messages ``user`` may read: all for agents, public ones for the customer."""
    messages = ticket.messages.select_related("author")
    return messages if is_agent(user) else messages.filter(internal=False)


# --- SLA --------------------------------------------------------------------------------------


_TICKET_ONLY = CompiledGet(Ticket.objects.all())


def sla_schedule_name(ticket_id: int) -> str:
    return f"support-sla-{ticket_id}"


def sla_schedule(*, ticket_id: int) -> bool:
    """(Re)schedule the one-off first-response check of a ticket at its current due time;
    whether a check is armed.

    Raises ``Ticket.DoesNotExist`` for a ticket that no longer exists. No transaction: a
    run cut short between two writes is a delivery left unrecorded, which runs again and
    converges on the same schedule.
    """
    ticket = _TICKET_ONLY.get(ticket_id)
    schedules = Schedule.objects.filter(name=sla_schedule_name(ticket_id))
    if ticket.sla_due_at is None or ticket.first_responded_at or ticket.sla_breached_at:
        schedules.delete()
        return False
    # A check not run yet moves; otherwise (a new ticket, or one whose check already ran
    # early and was deleted) a new one is created.
    if not schedules.update(next_run=ticket.sla_due_at):
        Schedule.objects.create(
            name=sla_schedule_name(ticket_id),
            func=SLA_CHECK_TASK,
            args=repr((ticket_id,)),
            schedule_type=Schedule.ONCE,
            repeats=-1,  # a ONCE schedule with negative repeats is deleted after it runs
            next_run=ticket.sla_due_at,
        )
    return True


def sla_check(*, ticket_id: int, now: datetime | None = None) -> bool:
    """Mark the ticket breached if its first response is overdue; True only the first time."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if (
            ticket is None
            or ticket.sla_breached_at is not None
            or ticket.first_responded_at is not None
            or ticket.status not in ACTIVE_STATUSES
            or ticket.sla_due_at is None
            or ticket.sla_due_at > now
        ):
            return False
        ticket.sla_breached_at = now
        ticket.save()
    return True
