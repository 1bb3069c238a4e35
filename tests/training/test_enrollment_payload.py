"""The payload of the enrollment events: what both dashboards need to redraw an enrollment."""

import pytest

from training import services
from training.events import CourseCompleted, LessonCompleted

pytestmark = pytest.mark.django_db


def test_the_payload_carries_the_progress_and_the_next_lesson(learner, course):
    enrollment = services.enrollment_create(learner=learner, course=course)
    first, second, _ = course.lessons.all()
    services.lesson_complete(enrollment=enrollment, lesson=first)

    payload = LessonCompleted.from_enrollment(
        enrollment, lesson_id=first.pk, lesson_title=first.title
    )

    assert payload.model_dump(exclude={"occurred_at"}) == {
        "enrollment_id": enrollment.pk,
        "course_id": course.pk,
        "course_title": "Event-Driven Django",
        "learner_id": learner.pk,
        "learner_name": "Lee Park",
        "instructor_id": course.instructor_id,
        "status": "active",
        "completed_lessons": 1,
        "total_lessons": 3,
        "next_lesson_id": second.pk,
        "next_lesson_title": "Publishing after commit",
        "enrolled_count": 1,
        "lesson_id": first.pk,
        "lesson_title": "Why events?",
    }


def test_an_ended_enrollment_has_no_next_lesson(learner, course):
    enrollment = services.enrollment_complete(
        enrollment=services.enrollment_create(learner=learner, course=course)
    )

    payload = CourseCompleted.from_enrollment(enrollment)

    assert (payload.status, payload.next_lesson_id, payload.next_lesson_title) == (
        "completed",
        None,
        "",
    )
