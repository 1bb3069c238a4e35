"""Finishing a course: completion, a congratulation email, the instructor told."""

import pytest

from eventplatform.events.models import Event
from training.models import Enrollment, LessonProgress, Notification

pytestmark = pytest.mark.django_db


def test_completing_the_last_lesson_completes_the_course_and_sends_congratulations(
    learner, course, instructor, enroll_now, complete_now, task_queue, smtp_server
):
    enrollment = enroll_now(learner, course)
    task_queue.run()
    smtp_server.messages.clear()
    lessons = list(course.lessons.all())

    for lesson in lessons[:2]:
        complete_now(enrollment, lesson)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.next_lesson() == lessons[2]

    complete_now(enrollment, lessons[2])
    task_queue.run()

    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.completed_at is not None
    [mail] = smtp_server.messages
    assert (mail["To"], mail["Subject"]) == (
        "learner@example.com",
        "You completed Event-Driven Django",
    )
    assert "Congratulations, Lee Park!" in mail.get_body(("plain",)).get_content()
    assert "/learning/" in mail.get_body(("html",)).get_content()
    assert Notification.objects.filter(
        recipient=instructor, message="Lee Park completed Event-Driven Django."
    ).exists()
    assert Notification.objects.filter(
        recipient=learner, message="Congratulations: you completed Event-Driven Django."
    ).exists()
    completed = Event.objects.get(type="training.course.completed.v1")
    assert (completed.payload["completed_lessons"], completed.payload["total_lessons"]) == (3, 3)
    progress = [
        e.payload["completed_lessons"]
        for e in Event.objects.filter(type="training.lesson.completed.v1").order_by("position")
    ]
    assert progress == [1, 2, 3]


def test_marking_a_lesson_twice_counts_it_once(learner, course, enroll_now, complete_now):
    enrollment = enroll_now(learner, course)
    lesson = course.lessons.first()
    complete_now(enrollment, lesson)
    complete_now(enrollment, lesson)

    assert LessonProgress.objects.filter(enrollment=enrollment).count() == 1
    assert Event.objects.filter(type="training.lesson.completed.v1").count() == 1
    assert enrollment.percent_complete() == 33
