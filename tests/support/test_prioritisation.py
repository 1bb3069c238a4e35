"""Operators' rules decide a new ticket's priority and so its first-response due time."""

from datetime import timedelta

import pytest

from support import services
from support.demo import seed_demo
from support.models import CustomerProfile, PrioritisationRule, Priority, SlaTarget, Ticket

pytestmark = pytest.mark.django_db


def rule(name, position, priority, keywords="", **conditions):
    return PrioritisationRule.objects.create(
        name=name, position=position, priority=priority, keywords=keywords, **conditions
    )


def priority_of(customer, subject, body="Details."):
    ticket = services.ticket_create(customer=customer, subject=subject, body=body)
    return services.ticket_prioritise(ticket_id=ticket.pk)


def test_the_first_matching_rule_in_order_wins(customer):
    rule("Billing", 20, Priority.HIGH, "invoice\nrefund")
    rule("Security", 10, Priority.URGENT, "security\nhacked")
    ticket = priority_of(customer, "My account was hacked", "and the invoice is wrong")
    assert (ticket.priority, ticket.priority_reason) == (Priority.URGENT, "rule: Security")
    assert priority_of(customer, "Refund please").priority == Priority.HIGH


def test_keywords_match_whole_words_and_phrases_in_any_case(customer):
    rule("Outages", 10, Priority.URGENT, "is down\nssl")
    assert priority_of(customer, "The site IS   DOWN").priority == Priority.URGENT
    assert priority_of(customer, "Hassle with exports").priority == Priority.NORMAL
    assert priority_of(customer, "Question", "the SSL certificate expired").priority == (
        Priority.URGENT
    )


def test_a_rule_can_look_at_the_subject_only(customer):
    rule("Subject says urgent", 10, Priority.URGENT, "urgent", match_in="subject")
    assert priority_of(customer, "Hello", "This is urgent").priority == Priority.NORMAL
    assert priority_of(customer, "URGENT: help", "text").priority == Priority.URGENT


def test_customer_plan_and_tier_rules(customer):
    rule("Enterprise", 10, Priority.HIGH, customer_plan="enterprise")
    rule("VIP feedback", 20, Priority.LOW, "feedback", customer_tier="vip")
    assert priority_of(customer, "Anything").priority == Priority.NORMAL
    CustomerProfile.objects.create(user=customer, plan="Enterprise", tier="vip")
    assert priority_of(customer, "Anything").priority == Priority.HIGH


def test_disabled_rules_are_ignored_and_no_match_means_normal_within_24_hours(customer):
    rule("Everything urgent", 1, Priority.URGENT, enabled=False)
    ticket = priority_of(customer, "A question")
    assert (ticket.priority, ticket.priority_reason) == (Priority.NORMAL, "no rule matched")
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=24)


def test_sla_targets_are_editable(customer):
    assert dict(SlaTarget.objects.values_list("priority", "first_response_hours")) == {
        "urgent": 1,
        "high": 4,
        "normal": 24,
        "low": 72,
    }
    SlaTarget.objects.filter(priority=Priority.NORMAL).update(first_response_hours=8)
    ticket = priority_of(customer, "A question")
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=8)


def test_rules_never_override_a_priority_an_agent_already_set(customer, agent):
    rule("Outages", 10, Priority.URGENT, "outage")
    ticket = services.ticket_create(customer=customer, subject="Small outage?", body="Maybe.")
    services.ticket_update(ticket=ticket, by=agent, priority=Priority.LOW)
    ticket = services.ticket_prioritise(ticket_id=ticket.pk)
    assert ticket.priority == Priority.LOW
    assert ticket.sla_due_at == ticket.created_at + timedelta(hours=72)


def test_the_demo_rules_make_outages_and_security_urgent_and_billing_high(customer):
    seed_demo()
    seed_demo()  # idempotent
    assert PrioritisationRule.objects.filter(name="Outages").count() == 1
    assert CustomerProfile.objects.get(user=customer).plan == "pro"
    assert priority_of(customer, "Website is down").priority == Priority.URGENT
    assert priority_of(customer, "Possible security breach").priority == Priority.URGENT
    assert priority_of(customer, "Wrong invoice amount").priority == Priority.HIGH
    assert priority_of(customer, "Feature request: dark mode").priority == Priority.LOW
    assert priority_of(customer, "Export to CSV is slow").priority == Priority.NORMAL
    assert Ticket.objects.count() == 5
