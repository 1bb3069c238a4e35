"""The training demo data: two open courses with their lessons, seeded once however often run."""

import pytest

from training.demo import seed_demo
from training.models import Course

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_the_instructors_courses_once():
    assert seed_demo() == ["instructor", "learner"]
    seed_demo()

    courses = Course.objects.filter(instructor__username="instructor", published=True)
    assert [(c.title, [lesson.title for lesson in c.lessons.all()]) for c in courses] == [
        (
            "Event-Driven Django",
            ["Why events?", "Publishing after commit", "Idempotent handlers", "Live pages"],
        ),
        (
            "Writing Tests People Trust",
            ["Outcomes, not calls", "Real dependencies", "Failure on purpose"],
        ),
    ]
    assert Course.objects.count() == 2
