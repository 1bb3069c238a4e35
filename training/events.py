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
    course_id: int
    course_title: str
    learner_id: int
    learner_name: str
    instructor_id: int
    status: str
    completed_lessons: int
    total_lessons: int
    next_lesson_id: int | None = None
    next_lesson_title: str = ""
    enrolled_count: int  # learners holding a seat in the course after this change
    occurred_at: datetime

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
    lesson_title: str


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
    recipient_id: int
    role: str  # "learner" or "instructor": the dashboard that lists it
    message: str
    url: str
    course_id: int | None = None
    created_at: datetime

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
    instructor_id: int
    day: str  # ISO date
    enrollments: int
    cancellations: int
    lesson_completions: int
    course_completions: int
    active_learners: int
    funnel_enrolled: int
    funnel_started: int
    funnel_completed: int


COURSE_STATS_UPDATED = EventType(
    "training.course_stats.updated.v1",
    CourseStatsUpdated,
    audience=lambda p: [instructor_group(p.instructor_id)],
    description="The analytics of a course changed; carries the day's totals and the funnel.",
)
