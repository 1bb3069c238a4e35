"""Model changes -> training events, so that every write path (web, API, admin, shell) emits.

Receivers decide which event a change is and build its payload; reactions live in handlers.py.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from eventplatform.events import publish

from .events import (
    COURSE_COMPLETED,
    ENROLLMENT_CANCELLED,
    ENROLLMENT_CREATED,
    LESSON_COMPLETED,
    NOTIFICATION_CREATED,
    LessonCompleted,
    NotificationCreated,
)
from .models import Enrollment, LessonProgress, Notification

Status = Enrollment.Status


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
    publish(event_type, event_type.payload.from_enrollment(instance))


@receiver(post_save, sender=LessonProgress)
def lesson_progress_saved(sender, instance: LessonProgress, created: bool, raw: bool, **kwargs):
    if raw or not created:
        return
    publish(
        LESSON_COMPLETED,
        LessonCompleted.from_enrollment(
            instance.enrollment,
            lesson_id=instance.lesson_id,
            lesson_title=instance.lesson.title,
        ),
    )


@receiver(post_save, sender=Notification)
def notification_saved(sender, instance: Notification, created: bool, raw: bool, **kwargs):
    if raw or not created:
        return
    publish(
        NOTIFICATION_CREATED,
        NotificationCreated.from_notification(instance),
    )
