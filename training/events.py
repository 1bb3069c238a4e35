"""The event types of the training app.

Payloads carry what a live page needs to render the change without another request: titles,
display names and progress counts, alongside the ids. The learner sees their own events; the
course's instructor sees the events of their courses; nobody else does.
"""

from datetime import datetime
from typing import Any, Self

from django.utils import timezone

from eventplatform.events import EventType, Payload, user_group
from eventplatform.users import display_name

from .audience import instructor_group
from .models import Enrollment, Notification


def learner_and_instructor(payload) -> list:
    return [user_group(payload.learner_id), instructor_group(payload.instructor_id)]


class EnrollmentChanged(Payload):
    """An enrollment and the course it is in, as both dashboards show it."""

    enrollment_id: int
    """The enrollment's id (`/api/v1/enrollments/{id}/`)."""
    course_id: int
    """The course's id (`/api/v1/courses/{id}/`)."""
    course_title: str
    """The course's title."""
    learner_id: int
    """The learner enrolled."""
    learner_name: str
    """The learner's display name."""
    instructor_id: int
    """The course's instructor."""
    status: str
    """The enrollment's status after the change: active, completed or cancelled."""
    completed_lessons: int
    """Lessons the learner has completed in the course."""
    total_lessons: int
    """Lessons in the course."""
    next_lesson_id: int | None = None
    """The first lesson not yet completed; null when none is left or the enrollment ended."""
    next_lesson_title: str = ""
    """That lesson's title; empty when there is none."""
    enrolled_count: int
    """Learners holding a seat in the course after this change."""
    occurred_at: datetime
    """When the change happened."""

    @classmethod
    def from_enrollment(cls, enrollment: Enrollment, **fields: Any) -> Self:
        """The payload of ``enrollment`` as it stands now; ``fields`` gives what the event
        type declares besides (the lesson of a ``LessonCompleted``)."""
        course = enrollment.course
        done, total = enrollment.progress_counts()
        active = enrollment.status == Enrollment.Status.ACTIVE
        next_lesson = enrollment.next_lesson() if active else None
        snapshot = {
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
        return cls(**{**snapshot, **fields})


class EnrollmentCreated(EnrollmentChanged):
    pass


class EnrollmentCancelled(EnrollmentChanged):
    pass


class CourseCompleted(EnrollmentChanged):
    pass


class LessonCompleted(EnrollmentChanged):
    lesson_id: int
    """The lesson completed."""
    lesson_title: str
    """Its title."""


ENROLLMENT_CREATED = EventType(
    "training.enrollment.created.v1",
    EnrollmentCreated,
    audience=learner_and_instructor,
    description="A learner enrolled in a course.",
)

ENROLLMENT_CANCELLED = EventType(
    "training.enrollment.cancelled.v1",
    EnrollmentCancelled,
    audience=learner_and_instructor,
    description="A learner left a course before completing it; their seat is free again.",
)

LESSON_COMPLETED = EventType(
    "training.lesson.completed.v1",
    LessonCompleted,
    audience=learner_and_instructor,
    description="A learner marked a lesson complete; carries the enrollment's new progress.",
)

COURSE_COMPLETED = EventType(
    "training.course.completed.v1",
    CourseCompleted,
    audience=learner_and_instructor,
    description="A learner completed every lesson of a course.",
)


class NotificationCreated(Payload):
    notification_id: int
    """The notification's id."""
    recipient_id: int
    """The user it is for."""
    role: str
    """The dashboard that lists it: learner or instructor."""
    message: str
    """The notification's text."""
    url: str
    """Where it leads, a path on the site."""
    course_id: int | None = None
    """The course it is about, if any."""
    created_at: datetime
    """When it was created."""

    @classmethod
    def from_notification(cls, notification: Notification) -> Self:
        return cls(
            notification_id=notification.pk,
            recipient_id=notification.recipient_id,
            role=notification.role,
            message=notification.message,
            url=notification.url,
            course_id=notification.course_id,
            created_at=notification.created_at,
        )


NOTIFICATION_CREATED = EventType(
    "training.notification.created.v1",
    NotificationCreated,
    audience=lambda p: [user_group(p.recipient_id)],
    description="An in-app notification for one person (learner or instructor).",
)


class CourseStatsUpdated(Payload):
    """A course's analytics after the pipeline recorded an activity: absolute, not deltas,
    so that a chart applying them converges on the recorded truth."""

    course_id: int
    """The course the figures are for."""
    instructor_id: int
    """The course's instructor."""
    day: str
    """The day the figures are for (ISO date, UTC)."""
    enrollments: int
    """Enrollments that day."""
    cancellations: int
    """Cancellations that day."""
    lesson_completions: int
    """Lessons completed that day."""
    course_completions: int
    """Courses completed that day."""
    active_learners: int
    """Learners with any activity that day."""
    funnel_enrolled: int
    """Learners ever enrolled in the course."""
    funnel_started: int
    """Of those, learners who completed at least one lesson."""
    funnel_completed: int
    """Of those, learners who completed the course."""


COURSE_STATS_UPDATED = EventType(
    "training.course_stats.updated.v1",
    CourseStatsUpdated,
    audience=lambda p: [instructor_group(p.instructor_id)],
    description="The analytics of a course changed; carries the day's totals and the funnel.",
)
