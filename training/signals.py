"""Model changes -> training events, so that every write path (web, API, admin, shell) emits.

Receivers decide which event a change is and build its payload; reactions live in handlers.py.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from eventplatform.events import publish
from eventplatform.users import display_name

from .events import (
    COURSE_COMPLETED,
    ENROLLMENT_CANCELLED,
    ENROLLMENT_CREATED,
    LESSON_COMPLETED,
    NOTIFICATION_CREATED,
    NotificationCreated,
)
from .models import Enrollment, LessonProgress, Notification

Status = Enrollment.Status


def enrollment_snapshot(enrollment: Enrollment) -> dict:
    """The enrollment as a dashboard shows it, right now: the shared part of its payloads."""
    course = enrollment.course
    done, total = enrollment.progress_counts()
    next_lesson = enrollment.next_lesson() if enrollment.status == Status.ACTIVE else None
    return {
        "enrollment_id": enrollment.pk,
        "course_id": course.pk,
        "course_title": course.title,
        "learner_id": enrollment.learner_id,
        "learner_name": display_name(enrollment.learner),
        "instructor_id": course.instructor_id,
        "status": str(enrollment.status),
        "completed_lessons": done,
        "total_lessons": total,
        "next_lesson_id": next_lesson.pk if next_lesson else None,
        "next_lesson_title": next_lesson.title if next_lesson else "",
        "enrolled_count": course.seats_taken(),
        "occurred_at": timezone.now(),
    }


@receiver(post_save, sender=Enrollment)
def enrollment_saved(sender, instance: Enrollment, created: bool, raw: bool, **kwargs) -> None:
    if raw:
        return
    if created:
        event_type = ENROLLMENT_CREATED
    elif "status" not in instance.changes():
        return
    elif instance.status == Status.CANCELLED:
        event_type = ENROLLMENT_CANCELLED
    elif instance.status == Status.COMPLETED:
        event_type = COURSE_COMPLETED
    else:
        return
    publish(event_type, enrollment_snapshot(instance))


@receiver(post_save, sender=LessonProgress)
def lesson_progress_saved(sender, instance: LessonProgress, created: bool, raw: bool, **kwargs):
    if raw or not created:
        return
    publish(
        LESSON_COMPLETED,
        {
            **enrollment_snapshot(instance.enrollment),
            "lesson_id": instance.lesson_id,
            "lesson_title": instance.lesson.title,
        },
    )


@receiver(post_save, sender=Notification)
def notification_saved(sender, instance: Notification, created: bool, raw: bool, **kwargs):
    if raw or not created:
        return
    publish(
        NOTIFICATION_CREATED,
        NotificationCreated(
            notification_id=instance.pk,
            recipient_id=instance.recipient_id,
            role=instance.role,
            message=instance.message,
            url=instance.url,
            course_id=instance.course_id,
            created_at=instance.created_at,
        ),
    )
