"""Demo data for training: an instructor with two published courses, and a learner."""

from eventplatform.demo import demo_user

from .audience import INSTRUCTORS_ROLE
from .models import Course, Lesson

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

    Courses and lessons are created once; running it again changes nothing.
    """
    instructor = demo_user("instructor", "Indra", roles=(INSTRUCTORS_ROLE,))
    demo_user("learner", "Lee")
    for spec in DEMO_COURSES:
        course, _ = Course.objects.get_or_create(
            title=spec["title"],
            instructor=instructor,
            defaults={
                "description": spec["description"],
                "capacity": spec["capacity"],
                "published": True,
            },
        )
        for position, (title, body) in enumerate(spec["lessons"], start=1):
            Lesson.objects.get_or_create(
                course=course, position=position, defaults={"title": title, "body": body}
            )
    return ["instructor", "learner"]
