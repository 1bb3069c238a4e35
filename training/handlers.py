"""Reactions to training events. Each is its own delivery: retried alone, failing alone.

Delivery is at least once, so each reaction is safe to run twice for one event: notifications
and activity rows are unique per event, aggregates are recounted rather than incremented.
"""

from django.db import transaction
from django.urls import reverse

from eventplatform.compiled import CompiledGet
from eventplatform.events import Event, PermanentFailure, Skip, publish, subscribe

from . import emails, services
from .analytics import course_funnels
from .events import (
    COURSE_COMPLETED,
    COURSE_STATS_UPDATED,
    ENROLLMENT_CANCELLED,
    ENROLLMENT_CREATED,
    LESSON_COMPLETED,
    CourseStatsUpdated,
)
from .models import Activity, Enrollment, Notification, NotificationPreference

ACTIVITY_KINDS = {
    ENROLLMENT_CREATED.name: Activity.Kind.ENROLLED,
    ENROLLMENT_CANCELLED.name: Activity.Kind.CANCELLED,
    LESSON_COMPLETED.name: Activity.Kind.LESSON_COMPLETED,
    COURSE_COMPLETED.name: Activity.Kind.COURSE_COMPLETED,
}


_ENROLLMENT = CompiledGet(Enrollment.objects.select_related("course__instructor", "learner"))


def enrollment_of(event: Event) -> Enrollment:
    try:
        return _ENROLLMENT.get(event.data.enrollment_id)
    except Enrollment.DoesNotExist:
        # As in support: the event outlived its row; no retry can help, and an operator should
        # see it among the dead letters.
        raise PermanentFailure(f"Enrollment {event.data.enrollment_id} no longer exists.") from None


@subscribe(ENROLLMENT_CREATED, name="training.onboarding-email")
def send_onboarding_email(event: Event) -> None:
    """Welcome the learner with the course outline and a link to the first lesson."""
    enrollment = enrollment_of(event)
    if not enrollment.learner.email:
        raise Skip("The learner has no email address.")
    emails.send_onboarding_email(enrollment, event_id=str(event.id))


@subscribe(COURSE_COMPLETED, name="training.congratulations-email")
def send_congratulations_email(event: Event) -> None:
    enrollment = enrollment_of(event)
    if not enrollment.learner.email:
        raise Skip("The learner has no email address.")
    emails.send_congratulations_email(enrollment, event_id=str(event.id))


@subscribe(ENROLLMENT_CREATED, COURSE_COMPLETED, name="training.learner-dashboard")
def post_to_learning_dashboard(event: Event) -> None:
    """The learner's dashboard greets a new course and celebrates a completed one."""
    data = event.data
    if event.type == ENROLLMENT_CREATED.name:
        if data.next_lesson_id:
            message = f"Welcome to {data.course_title}! Start with “{data.next_lesson_title}”."
            url = reverse("training:lesson", args=[data.course_id, data.next_lesson_id])
        else:
            message = f"Welcome to {data.course_title}!"
            url = reverse("training:course", args=[data.course_id])
    else:
        message = f"Congratulations: you completed {data.course_title}."
        url = reverse("training:course", args=[data.course_id])
    services.notification_create(
        recipient_id=data.learner_id,
        role=Notification.Role.LEARNER,
        message=message,
        event_id=event.id,
        course_id=data.course_id,
        url=url,
    )


def instructor_message(event: Event) -> str:
    data = event.data
    if event.type == ENROLLMENT_CREATED.name:
        return f"{data.learner_name} enrolled in {data.course_title}."
    return f"{data.learner_name} completed {data.course_title}."


@subscribe(ENROLLMENT_CREATED, COURSE_COMPLETED, name="training.instructor-notification")
def notify_instructor(event: Event) -> None:
    """An in-app notification, which reaches the instructor dashboard live as its own event."""
    data = event.data
    services.notification_create(
        recipient_id=data.instructor_id,
        role=Notification.Role.INSTRUCTOR,
        message=instructor_message(event),
        event_id=event.id,
        course_id=data.course_id,
        url=reverse("training:instructor-dashboard"),
    )


@subscribe(ENROLLMENT_CREATED, COURSE_COMPLETED, name="training.instructor-email")
def email_instructor(event: Event) -> None:
    """Only for instructors who opted in; the others' deliveries are recorded as skipped."""
    enrollment = enrollment_of(event)
    instructor = enrollment.course.instructor
    if not NotificationPreference.wants_instructor_email(instructor):
        raise Skip("The instructor has not opted in to email updates.")
    if not instructor.email:
        raise Skip("The instructor has no email address.")
    message = instructor_message(event)
    emails.send_instructor_update(
        instructor=instructor,
        subject=message,
        message=message,
        url=reverse("training:instructor-dashboard"),
        event_id=str(event.id),
    )


@subscribe(
    ENROLLMENT_CREATED,
    ENROLLMENT_CANCELLED,
    LESSON_COMPLETED,
    COURSE_COMPLETED,
    name="training.analytics",
)
def record_learning_activity(event: Event) -> None:
    """The analytics pipeline: record the activity, update the aggregates, push the charts."""
    data = event.data
    with transaction.atomic():
        stats = services.activity_record(
            event_id=event.id,
            kind=ACTIVITY_KINDS[event.type],
            course_id=data.course_id,
            learner_id=data.learner_id,
            occurred_at=event.time,
        )
        funnel = course_funnels([data.course_id])[data.course_id]
        publish(
            COURSE_STATS_UPDATED,
            CourseStatsUpdated(
                course_id=data.course_id,
                instructor_id=data.instructor_id,
                day=stats.day.isoformat(),
                enrollments=stats.enrollments,
                cancellations=stats.cancellations,
                lesson_completions=stats.lesson_completions,
                course_completions=stats.course_completions,
                active_learners=stats.active_learners,
                funnel_enrolled=funnel["enrolled"],
                funnel_started=funnel["started"],
                funnel_completed=funnel["completed"],
            ),
        )
