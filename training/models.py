"""Courses, lessons, enrollments and progress; the notifications and analytics they produce."""

from django.conf import settings
from django.db import models
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from eventplatform.events import EventedModel, EventedQuerySet


class CourseQuerySet(models.QuerySet):
    def published(self) -> "CourseQuerySet":
        return self.filter(published=True)

    def visible_to(self, user) -> "CourseQuerySet":
        """Published courses, plus the unpublished ones the user teaches."""
        if user.is_authenticated:
            return self.filter(Q(published=True) | Q(instructor=user))
        return self.published()

    def with_counts(self) -> "CourseQuerySet":
        return self.annotate(
            lesson_count=Count("lessons", distinct=True),
            enrolled_count=Count(
                "enrollments",
                filter=~Q(enrollments__status="cancelled"),
                distinct=True,
            ),
        ).order_by("title", "pk")  # Meta.ordering does not apply to aggregated queries


class Course(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="courses_taught"
    )
    published = models.BooleanField(default=False)
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most learners enrolled at once; empty for no limit."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("training:course", args=[self.pk])

    def seats_taken(self) -> int:
        """Enrollments holding a seat: active and completed ones (cancelled ones free theirs).

        A course read through ``with_counts()`` has the number already, counted in the query
        that read it: a list of courses does not count once per course. Such a course is for
        reading; one about to take an enrollment is read afresh, under a lock.
        """
        if hasattr(self, "enrolled_count"):
            return self.enrolled_count
        return self.enrollments.exclude(status=Enrollment.Status.CANCELLED).count()

    def is_full(self) -> bool:
        return self.capacity is not None and self.seats_taken() >= self.capacity


class Lesson(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveIntegerField(help_text="Order within the course, from 1.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["course", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="lesson_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("training:lesson", args=[self.course_id, self.pk])


class EnrollmentQuerySet(EventedQuerySet):
    services = "training.services (enrollment_create, enrollment_cancel, ...)"

    def with_progress(self) -> "EnrollmentQuerySet":
        """Enrollments with everything their progress reads (counts, completed lessons, next
        lesson) fetched up front: a list takes the same number of queries at any length.

        For reading only: a prefetched enrollment does not see progress recorded after it.
        """
        return self.select_related("course").prefetch_related(
            Prefetch("progress", queryset=LessonProgress.objects.only("enrollment", "lesson")),
            Prefetch(
                "course__lessons",
                queryset=Lesson.objects.only("course", "position", "title"),
            ),
        )


class Enrollment(EventedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    tracked_fields = ("status",)  # training/signals.py publishes when a save changes it

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-enrolled_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "course"],
                condition=Q(status="active"),
                name="one_active_enrollment_per_course",
            )
        ]

    def __str__(self) -> str:
        return f"{self.learner} in {self.course}"

    # The methods below read the related rows through .all(), so that they take them from
    # with_progress()'s prefetch when there is one instead of querying once per enrollment.

    def completed_lesson_ids(self) -> set[int]:
        return {progress.lesson_id for progress in self.progress.all()}

    def next_lesson(self) -> "Lesson | None":
        """The first lesson, in course order, not yet completed."""
        completed = self.completed_lesson_ids()
        remaining = (lesson for lesson in self.course.lessons.all() if lesson.pk not in completed)
        return next(remaining, None)

    def progress_counts(self) -> tuple[int, int]:
        """(lessons completed, lessons in the course)."""
        return len(self.completed_lesson_ids()), len(self.course.lessons.all())

    def percent_complete(self) -> int:
        done, total = self.progress_counts()
        # Halves round up, as the dashboard's script rounds the progress that arrives live
        # (Math.round): Python's round() would put 12% on the page for 1 of 8 lessons, and
        # the first live update 13%.
        return (200 * done + total) // (2 * total) if total else 0


class LessonProgress(models.Model):
    """A lesson the learner marked complete, within one enrollment."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="progress")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "lesson progress"
        ordering = ["completed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "lesson"], name="lesson_completed_once_per_enrollment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lesson} completed"


class Notification(models.Model):
    """An in-app notice for one person, created by a reaction to one event."""

    class Role(models.TextChoices):
        LEARNER = "learner", "As learner"
        INSTRUCTOR = "instructor", "As instructor"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_notifications"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    course = models.ForeignKey(
        Course, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True
    )
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    source_event_id = models.UUIDField(help_text="The event this notice reacts to.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A redelivered event finds its notice already there instead of adding another.
            models.UniqueConstraint(
                fields=["recipient", "role", "source_event_id"], name="notification_once_per_event"
            )
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_preferences"
    )
    email_instructor_updates = models.BooleanField(
        default=False, help_text="Email me when a learner enrolls in or completes my course."
    )

    def __str__(self) -> str:
        return f"Preferences of {self.user}"

    @classmethod
    def wants_instructor_email(cls, user) -> bool:
        return cls.objects.filter(user=user, email_instructor_updates=True).exists()


class Activity(models.Model):
    """One learning event as the analytics pipeline recorded it; at most one row per event."""

    class Kind(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        CANCELLED = "cancelled", "Cancelled"
        LESSON_COMPLETED = "lesson_completed", "Lesson completed"
        COURSE_COMPLETED = "course_completed", "Course completed"

    event_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="activities")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_activities"
    )
    occurred_at = models.DateTimeField()
    day = models.DateField(db_index=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["course", "day"], name="activity_course_day")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.course} {self.day}"


class DailyCourseStats(models.Model):
    """The day's totals of one course, derived from its activity rows."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    enrollments = models.PositiveIntegerField(default=0)
    cancellations = models.PositiveIntegerField(default=0)
    lesson_completions = models.PositiveIntegerField(default=0)
    course_completions = models.PositiveIntegerField(default=0)
    active_learners = models.PositiveIntegerField(
        default=0, help_text="Distinct learners with any activity in the course that day."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "daily course statistics"
        verbose_name_plural = "daily course statistics"
        ordering = ["-day", "course"]
        constraints = [
            models.UniqueConstraint(fields=["course", "day"], name="daily_stats_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.course} on {self.day}"
