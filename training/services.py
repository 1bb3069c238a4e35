"""Training operations: every write of the app goes through one of these.

Each runs in one transaction; the model signals publish the resulting events inside it, so an
operation that fails half-way leaves neither rows nor events behind.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from .models import (
    Activity,
    Course,
    DailyCourseStats,
    Enrollment,
    Lesson,
    LessonProgress,
    Notification,
    NotificationPreference,
)

Status = Enrollment.Status
ALREADY_ENROLLED = "You are already enrolled in this course."


def course_create(
    *,
    instructor,
    title: str,
    description: str = "",
    capacity: int | None = None,
    published: bool = False,
    lessons: Iterable[tuple[str, str]] = (),
) -> Course:
    """A course with its lessons, given as (title, body) and numbered from 1 in that order."""
    with transaction.atomic():
        course = Course.objects.create(
            instructor=instructor,
            title=title,
            description=description,
            capacity=capacity,
            published=published,
        )
        for position, (lesson_title, body) in enumerate(lessons, start=1):
            Lesson.objects.create(course=course, position=position, title=lesson_title, body=body)
    return course


def enrollment_create(*, learner, course: Course) -> Enrollment:
    """Enroll ``learner``; raise ValidationError naming ``course`` when they may not."""
    with transaction.atomic():
        course = enrollment_create_check(learner=learner, course=course)
        try:
            with transaction.atomic():
                return Enrollment.objects.create(learner=learner, course=course)
        except IntegrityError:
            # A concurrent request enrolled the same learner first.
            raise ValidationError({"course": ALREADY_ENROLLED}) from None


def enrollment_create_check(*, learner, course: Course) -> Course:
    """Raise the ValidationError ``enrollment_create`` would raise; else return the course,
    locked until the caller's transaction ends.

    A form validating an enrollment calls it inside the transaction that then saves it, so the
    refusal shows on the form and the seat it saw free is still free when it enrolls.
    """
    # The lock serialises enrollments in one course, so two cannot take its last seat.
    course = Course.objects.select_for_update().get(pk=course.pk)
    if not course.published:
        raise ValidationError({"course": "This course is not open for enrollment."})
    if course.instructor_id == learner.pk:
        raise ValidationError({"course": "You teach this course; you cannot enroll in it."})
    existing = course.enrollments.filter(learner=learner).exclude(status=Status.CANCELLED)
    if existing.filter(status=Status.ACTIVE).exists():
        raise ValidationError({"course": ALREADY_ENROLLED})
    if existing.filter(status=Status.COMPLETED).exists():
        raise ValidationError({"course": "You have already completed this course."})
    if course.is_full():
        raise ValidationError({"course": "This course is full."})
    return course


def enrollment_cancel(*, enrollment: Enrollment) -> Enrollment:
    """Leave a course: the seat frees up and progress stays on record."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status != Status.ACTIVE:
            raise ValidationError({"status": "Only an active enrollment can be cancelled."})
        enrollment.status = Status.CANCELLED
        enrollment.cancelled_at = timezone.now()
        enrollment.save(update_fields=["status", "cancelled_at"])
    return enrollment


def enrollment_complete(*, enrollment: Enrollment) -> Enrollment:
    """Mark an active enrollment completed, whether or not every lesson was marked."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if enrollment.status != Status.ACTIVE:
            raise ValidationError({"status": "Only an active enrollment can be completed."})
        _mark_completed(enrollment)
    return enrollment


def _mark_completed(enrollment: Enrollment) -> None:
    enrollment.status = Status.COMPLETED
    enrollment.completed_at = timezone.now()
    enrollment.save(update_fields=["status", "completed_at"])


def lesson_complete(*, enrollment: Enrollment, lesson: Lesson) -> LessonProgress:
    """Mark ``lesson`` complete; completing the last one completes the enrollment.

    Marking a lesson that is already complete changes nothing and emits nothing.
    """
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update()
            .select_related("course", "learner")
            .get(pk=enrollment.pk)
        )
        if lesson.course_id != enrollment.course_id:
            raise ValidationError({"lesson": "This lesson belongs to another course."})
        if enrollment.status == Status.CANCELLED:
            raise ValidationError(
                {"lesson": "This enrollment was cancelled; enroll again to continue."}
            )
        progress, created = LessonProgress.objects.get_or_create(
            enrollment=enrollment, lesson=lesson
        )
        if created and enrollment.status == Status.ACTIVE and enrollment.next_lesson() is None:
            _mark_completed(enrollment)
    return progress


def notification_create(
    *,
    recipient_id: int,
    role: str,
    message: str,
    event_id: uuid.UUID,
    course_id: int | None = None,
    url: str = "",
) -> Notification:
    """Create the in-app notification for one event once; a redelivery returns the first."""
    with transaction.atomic():
        notification, _ = Notification.objects.get_or_create(
            recipient_id=recipient_id,
            role=role,
            source_event_id=event_id,
            defaults={"message": message[:300], "course_id": course_id, "url": url},
        )
    return notification


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def instructor_email_set(*, user, enabled: bool) -> NotificationPreference:
    """Opt in to (or out of) emails about enrollments in and completions of one's courses."""
    preference, _ = NotificationPreference.objects.update_or_create(
        user=user, defaults={"email_instructor_updates": enabled}
    )
    return preference


def activity_record(
    *,
    event_id: uuid.UUID,
    kind: str,
    course_id: int,
    learner_id: int,
    occurred_at: datetime,
) -> DailyCourseStats:
    """Record one event's activity and bring the course's day totals up to date, atomically.

    The activity row is unique on the event id, and the totals are counted from the rows
    rather than incremented, so recording the same event again changes nothing.
    """
    day = timezone.localdate(occurred_at)
    with transaction.atomic():
        Activity.objects.get_or_create(
            event_id=event_id,
            defaults={
                "kind": kind,
                "course_id": course_id,
                "learner_id": learner_id,
                "occurred_at": occurred_at,
                "day": day,
            },
        )
        DailyCourseStats.objects.get_or_create(course_id=course_id, day=day)
        # Counting after taking the row lock sees every activity committed before ours
        # (PostgreSQL); SQLite's write lock already serialises the whole transaction.
        stats = DailyCourseStats.objects.select_for_update().get(course_id=course_id, day=day)
        Kind = Activity.Kind
        totals = Activity.objects.filter(course_id=course_id, day=day).aggregate(
            enrollments=Count("pk", filter=Q(kind=Kind.ENROLLED)),
            cancellations=Count("pk", filter=Q(kind=Kind.CANCELLED)),
            lesson_completions=Count("pk", filter=Q(kind=Kind.LESSON_COMPLETED)),
            course_completions=Count("pk", filter=Q(kind=Kind.COURSE_COMPLETED)),
            active_learners=Count("learner", distinct=True),
        )
        for field, value in totals.items():
            setattr(stats, field, value)
        stats.save()
    return stats
