"""Demo data for support: a starting rule set, and a plan for the demo customer."""

from django.contrib.auth import get_user_model

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


def seed_support_demo() -> None:
    """Idempotent: rules are matched by name, and the customer's plan is set, not added."""
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
    customer = get_user_model().objects.filter(username="customer").first()
    if customer is not None:
        CustomerProfile.objects.update_or_create(
            user=customer, defaults={"plan": "pro", "tier": "standard"}
        )
