"""Demo data for training: an instructor with two published courses, and a learner."""

from eventplatform.demo import demo_user

from . import services
from .audience import INSTRUCTORS_ROLE
from .models import Course

DEMO_COURSES = [
    {
        "title": "Event-Driven Django",
        "description": "Design Django apps that react to what happens: domain events, the "
        "transactional outbox, idempotent handlers and live pages.",
        "capacity": 30,
        "lessons": [
            ("Why events?", "Polling versus reacting, and what a domain event is."),
            ("Publishing after commit", "The transactional outbox and why on_commit matters."),
            ("Idempotent handlers", "At-least-once delivery and how to make it safe."),
            ("Live pages", "WebSockets, audiences and resuming after a reconnect."),
        ],
    },
    {
        "title": "Writing Tests People Trust",
        "description": "Tests that describe behaviour a user would notice, with real "
        "services instead of mocks.",
        "capacity": None,
        "lessons": [
            ("Outcomes, not calls", "Assert what a user would notice."),
            ("Real dependencies", "SMTP, Redis and databases in the test run."),
            ("Failure on purpose", "Making one part fail and checking the rest holds."),
        ],
    },
]


def seed_demo() -> list[str]:
    """The demo instructor and learner, and the instructor's courses; returns the usernames.

    Each course is created once, with its lessons; running it again changes nothing.
    """
    instructor = demo_user("instructor", "Indra", roles=(INSTRUCTORS_ROLE,))
    demo_user("learner", "Lee")
    for spec in DEMO_COURSES:
        if not Course.objects.filter(title=spec["title"], instructor=instructor).exists():
            services.course_create(instructor=instructor, published=True, **spec)
    return ["instructor", "learner"]
