"""Enrolling sets off independent reactions: emails, dashboards, notifications, analytics."""

import pytest
from django.core.exceptions import ValidationError

from eventplatform.events.models import Delivery, Event
from eventplatform.events.replay import replay
from tests.training.factories import course_with_lessons
from training import services
from training.events import ENROLLMENT_CREATED
from training.models import Activity, DailyCourseStats, Enrollment, Notification

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def test_enrolling_emails_the_learner_a_welcome_with_the_outline_and_first_lesson_link(
    learner, course, enroll_now, task_queue, smtp_server, settings
):
    settings.SITE_URL = "https://learn.example.com"
    enrollment = enroll_now(learner, course)
    task_queue.run()

    [mail] = smtp_server.messages
    assert mail["To"] == "learner@example.com"
    assert mail["Subject"] == "Welcome to Event-Driven Django"
    first_lesson = course.lessons.get(position=1)
    link = f"https://learn.example.com/courses/{course.pk}/lessons/{first_lesson.pk}/"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Hello Lee Park" in text
    assert link in text and f'href="{link}"' in html
    for outline in ("1. Why events?", "2. Publishing after commit", "3. Idempotent handlers"):
        assert outline in text
    assert "<li>Idempotent handlers</li>" in html
    assert Enrollment.objects.get().pk == enrollment.pk


def test_enrolling_notifies_learner_and_instructor_in_app_and_records_the_activity(
    learner, course, instructor, enroll_now, task_queue, smtp_server
):
    enroll_now(learner, course)
    task_queue.run()

    welcome = Notification.objects.get(recipient=learner)
    assert welcome.role == Notification.Role.LEARNER
    assert welcome.message == "Welcome to Event-Driven Django! Start with “Why events?”."
    notice = Notification.objects.get(recipient=instructor)
    assert notice.message == "Lee Park enrolled in Event-Driven Django."
    assert not notice.is_read
    # Each notification is itself an event, pushed live to its recipient only.
    pushed = Event.objects.filter(type="training.notification.created.v1")
    assert sorted(e.audience[0] for e in pushed) == sorted(
        [f"user.{learner.pk}", f"user.{instructor.pk}"]
    )
    assert Activity.objects.get().kind == Activity.Kind.ENROLLED
    assert DailyCourseStats.objects.get(course=course).enrollments == 1
    # Without the opt-in the instructor gets no email, and the delivery says why.
    assert [m["To"] for m in smtp_server.messages] == ["learner@example.com"]
    skipped = Delivery.objects.get(handler="training.instructor-email")
    assert skipped.status == Status.SKIPPED
    assert "not opted in" in skipped.last_error


def test_an_instructor_who_opted_in_also_gets_an_email(
    learner, course, instructor, enroll_now, task_queue, smtp_server
):
    services.instructor_email_set(user=instructor, enabled=True)
    enroll_now(learner, course)
    task_queue.run()

    [to_instructor] = [m for m in smtp_server.messages if m["To"] == "instructor@example.com"]
    assert to_instructor["Subject"] == "Lee Park enrolled in Event-Driven Django."
    assert "/instructor/" in to_instructor.get_body(("plain",)).get_content()


def test_the_enrollment_event_carries_what_both_dashboards_render(
    learner, course, instructor, enroll_now, task_queue
):
    enroll_now(learner, course)
    event = Event.objects.get(type="training.enrollment.created.v1")

    assert event.audience == sorted([f"user.{learner.pk}", f"instructor.{instructor.pk}"])
    first = course.lessons.get(position=1)
    assert {k: v for k, v in event.payload.items() if k != "occurred_at"} == {
        "enrollment_id": Enrollment.objects.get().pk,
        "course_id": course.pk,
        "course_title": "Event-Driven Django",
        "learner_id": learner.pk,
        "learner_name": "Lee Park",
        "instructor_id": instructor.pk,
        "status": "active",
        "completed_lessons": 0,
        "total_lessons": 3,
        "next_lesson_id": first.pk,
        "next_lesson_title": "Why events?",
        "enrolled_count": 1,
    }


def test_one_failing_reaction_leaves_the_others_done_and_is_retried(
    learner, course, instructor, enroll_now, task_queue, settings
):
    # Nothing listens on this port: the SMTP connection is refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    enroll_now(learner, course)
    task_queue.run()

    onboarding = Delivery.objects.get(handler="training.onboarding-email")
    assert onboarding.status == Status.FAILED
    assert "Connection" in onboarding.last_error
    assert onboarding.next_attempt_at is not None
    others = Delivery.objects.filter(event__type="training.enrollment.created.v1").exclude(
        pk=onboarding.pk
    )
    assert {d.handler: d.status for d in others} == {
        "training.learner-dashboard": Status.SUCCEEDED,
        "training.instructor-notification": Status.SUCCEEDED,
        "training.instructor-email": Status.SKIPPED,
        "training.analytics": Status.SUCCEEDED,
    }
    assert Notification.objects.filter(recipient=instructor).exists()
    assert DailyCourseStats.objects.get(course=course).enrollments == 1


def test_a_refused_enrollment_writes_nothing_and_emits_nothing(learner, instructor, enroll_now):
    draft = course_with_lessons(instructor, "Intro", published=False)
    with pytest.raises(ValidationError) as refused:
        enroll_now(learner, draft)
    assert refused.value.message_dict == {"course": ["This course is not open for enrollment."]}
    assert not Enrollment.objects.exists()
    assert not Event.objects.exists()


def test_a_replayed_enrollment_reaches_each_inbox_as_the_same_email_again(
    learner,
    course,
    instructor,
    enroll_now,
    task_queue,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    services.instructor_email_set(user=instructor, enabled=True)
    enroll_now(learner, course)
    task_queue.run()

    with django_capture_on_commit_callbacks(execute=True):
        replay(Event.objects.filter(type=ENROLLMENT_CREATED.name))
    task_queue.run()

    def message_ids(address: str) -> list[str]:
        return [mail["Message-ID"] for mail in smtp_server.messages if mail["To"] == address]

    welcome, update = message_ids("learner@example.com"), message_ids("instructor@example.com")
    assert len(welcome) == len(update) == 2, "the replay sent each email again"
    assert welcome[0] == welcome[1] != update[0] == update[1]
