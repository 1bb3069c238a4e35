import pytest
from django.db import transaction

from tests.factories import UserFactory
from tests.training.factories import course_with_lessons
from training import services


@pytest.fixture
def learner(db):
    return UserFactory(username="learner", first_name="Lee", last_name="Park")


@pytest.fixture
def course(instructor):
    return course_with_lessons(
        instructor,
        "Why events?",
        "Publishing after commit",
        "Idempotent handlers",
        title="Event-Driven Django",
    )


@pytest.fixture
def enroll_now(django_capture_on_commit_callbacks):
    """Enroll through the service and run the after-commit work (enqueue, live push)."""

    def enroll(learner, course):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return services.enrollment_create(learner=learner, course=course)

    return enroll


@pytest.fixture
def complete_now(django_capture_on_commit_callbacks):
    def complete(enrollment, lesson):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return services.lesson_complete(enrollment=enrollment, lesson=lesson)

    return complete
