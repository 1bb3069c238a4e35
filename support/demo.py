"""Demo data for support: a starting rule set, and a plan for the demo customer."""

from eventplatform.demo import demo_user

from .audience import AGENTS_ROLE
from .models import CustomerProfile, PrioritisationRule, Priority

DEMO_RULES = [
    # (name, priority, keywords, plan)
    (
        "Outages",
        Priority.URGENT,
        [
            "outage",
            "is down",
            "went down",
            "not loading",
            "cannot log in",
            "can't log in",
            "500 error",
            "data loss",
        ],
        "",
    ),
    (
        "Security",
        Priority.URGENT,
        ["security", "breach", "hacked", "vulnerability", "phishing", "leaked", "compromised"],
        "",
    ),
    (
        "Billing",
        Priority.HIGH,
        ["billing", "invoice", "charged", "refund", "payment", "credit card"],
        "",
    ),
    ("Enterprise customers", Priority.HIGH, [], "enterprise"),
    (
        "Questions and feedback",
        Priority.LOW,
        ["feature request", "suggestion", "feedback", "how do i", "question"],
        "",
    ),
]


def seed_demo() -> list[str]:
    """The demo customer and agent, the rules and the customer's plan; returns the usernames.

    Idempotent: rules are matched by name, and the customer's plan is set, not added.
    """
    customer = demo_user("customer", "Casey")
    demo_user("agent", "Avery", roles=(AGENTS_ROLE,))
    for position, (name, priority, keywords, plan) in enumerate(DEMO_RULES, start=1):
        PrioritisationRule.objects.get_or_create(
            name=name,
            defaults={
                "position": position * 10,
                "priority": priority,
                "keywords": "\n".join(keywords),
                "customer_plan": plan,
            },
        )
    CustomerProfile.objects.update_or_create(
        user=customer, defaults={"plan": "pro", "tier": "standard"}
    )
    return ["customer", "agent"]
