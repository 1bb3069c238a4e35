import factory
import pytest
from django.db import transaction

from tests.factories import UserFactory
from training import services
from training.models import Course, Lesson


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    description = "Learn by doing."
    published = True


def course_with_lessons(instructor, *titles: str, **fields) -> Course:
    course = CourseFactory(instructor=instructor, **fields)
    for position, title in enumerate(titles, start=1):
        Lesson.objects.create(course=course, position=position, title=title, body=f"About {title}")
    return course


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
            return services.enroll(learner=learner, course=course)

    return enroll


@pytest.fixture
def complete_now(django_capture_on_commit_callbacks):
    def complete(enrollment, lesson):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return services.complete_lesson(enrollment=enrollment, lesson=lesson)

    return complete
