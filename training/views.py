"""Training pages: the catalog, course and lesson pages, and the two live dashboards."""

from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from eventplatform.events import EventType, live_page

from . import services
from .analytics import instructor_charts
from .audience import is_instructor
from .events import (
    COURSE_COMPLETED,
    COURSE_STATS_UPDATED,
    ENROLLMENT_CANCELLED,
    ENROLLMENT_CREATED,
    LESSON_COMPLETED,
    NOTIFICATION_CREATED,
)
from .models import Course, Enrollment, Lesson, Notification, NotificationPreference

Status = Enrollment.Status
FEED_LENGTH = 20
NOTIFICATIONS_SHOWN = 20


class FeedEntry(NamedTuple):
    """One kind of entry in the instructor's feed: the moment of the enrollment it shows, what
    it says, and the event that adds one live."""

    kind: str
    moment: str
    verb: str
    event_type: EventType


FEED_ENTRIES = [
    FeedEntry("enrolled", "enrolled_at", "enrolled in", ENROLLMENT_CREATED),
    FeedEntry("completed", "completed_at", "completed", COURSE_COMPLETED),
    FeedEntry("cancelled", "cancelled_at", "left", ENROLLMENT_CANCELLED),
]


def first_error(error: ValidationError) -> str:
    return error.messages[0]


def current_enrollment(user, course: Course) -> Enrollment | None:
    """The learner's active or completed enrollment in ``course``, if any."""
    if not user.is_authenticated:
        return None
    return (
        course.enrollments.filter(learner=user)
        .exclude(status=Status.CANCELLED)
        .with_progress()
        .order_by("-enrolled_at")
        .first()
    )


def catalog(request: HttpRequest) -> HttpResponse:
    courses = Course.objects.published().with_counts().select_related("instructor")
    enrolled = set()
    if request.user.is_authenticated:
        enrolled = set(
            request.user.enrollments.exclude(status=Status.CANCELLED).values_list(
                "course_id", flat=True
            )
        )
    return render(request, "training/catalog.html", {"courses": courses, "enrolled": enrolled})


def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(
        Course.objects.visible_to(request.user).with_counts().select_related("instructor"), pk=pk
    )
    enrollment = current_enrollment(request.user, course)
    return render(
        request,
        "training/course.html",
        {
            "course": course,
            "lessons": course.lessons.all(),
            "enrollment": enrollment,
            "completed": enrollment.completed_lesson_ids() if enrollment else set(),
            "teaches": course.instructor_id == request.user.pk,
        },
    )


@require_POST
@login_required
def enroll(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course.objects.visible_to(request.user), pk=pk)
    try:
        services.enrollment_create(learner=request.user, course=course)
    except ValidationError as error:
        messages.error(request, first_error(error))
        return redirect(course)
    messages.success(request, f"You are enrolled in {course.title}.")
    return redirect(course)


@require_POST
@login_required
def cancel_enrollment(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=pk)
    enrollment = get_object_or_404(
        Enrollment, course=course, learner=request.user, status=Status.ACTIVE
    )
    services.enrollment_cancel(enrollment=enrollment)
    messages.success(request, f"You left {course.title}.")
    return redirect(course)


@login_required
def lesson_detail(request: HttpRequest, course_pk: int, pk: int) -> HttpResponse:
    course = get_object_or_404(Course.objects.visible_to(request.user), pk=course_pk)
    lesson = get_object_or_404(Lesson, course=course, pk=pk)
    enrollment = current_enrollment(request.user, course)
    if enrollment is None and course.instructor_id != request.user.pk:
        messages.error(request, "Enroll in the course to open its lessons.")
        return redirect(course)
    lessons = list(course.lessons.all())
    index = lessons.index(lesson)
    completed = enrollment.completed_lesson_ids() if enrollment else set()
    return render(
        request,
        "training/lesson.html",
        {
            "course": course,
            "lesson": lesson,
            "lessons": lessons,
            "enrollment": enrollment,
            "completed": completed,
            "is_complete": lesson.pk in completed,
            "previous": lessons[index - 1] if index > 0 else None,
            "next": lessons[index + 1] if index + 1 < len(lessons) else None,
            "percent": enrollment.percent_complete() if enrollment else 0,
        },
    )


@require_POST
@login_required
def complete_lesson(request: HttpRequest, course_pk: int, pk: int) -> HttpResponse:
    lesson = get_object_or_404(Lesson, course_id=course_pk, pk=pk)
    enrollment = current_enrollment(request.user, lesson.course)
    if enrollment is None:
        messages.error(request, "Enroll in the course to track your progress.")
        return redirect(lesson.course)
    try:
        services.lesson_complete(enrollment=enrollment, lesson=lesson)
    except ValidationError as error:
        messages.error(request, first_error(error))
        return redirect(lesson)
    enrollment.refresh_from_db()
    if enrollment.status == Status.COMPLETED:
        messages.success(request, f"Congratulations: you completed {lesson.course.title}!")
        return redirect("training:dashboard")
    following = enrollment.next_lesson()
    return redirect(following or lesson)


@login_required
@live_page
def dashboard(request: HttpRequest) -> HttpResponse:
    enrollments = list(
        request.user.enrollments.exclude(status=Status.CANCELLED)
        .with_progress()
        .order_by("status", "-enrolled_at")
    )
    cards = []
    for enrollment in enrollments:
        done, total = enrollment.progress_counts()
        cards.append(
            {
                "enrollment": enrollment,
                "course": enrollment.course,
                "done": done,
                "total": total,
                "percent": enrollment.percent_complete(),
                "next": enrollment.next_lesson() if enrollment.status == Status.ACTIVE else None,
            }
        )
    notifications = request.user.training_notifications.filter(role=Notification.Role.LEARNER)
    return render(
        request,
        "training/dashboard.html",
        {
            "cards": cards,
            "notifications": notifications[:NOTIFICATIONS_SHOWN],
            "live": live_settings(),
        },
    )


def enrollment_feed(instructor) -> list[dict]:
    """Recent enrollments, departures and completions in the instructor's courses."""
    enrollments = Enrollment.objects.filter(course__instructor=instructor).select_related(
        "course", "learner"
    )
    entries = [
        {
            "kind": entry.kind,
            "verb": entry.verb,
            "at": getattr(enrollment, entry.moment),
            "enrollment": enrollment,
        }
        for entry in FEED_ENTRIES
        for enrollment in enrollments.filter(**{f"{entry.moment}__isnull": False}).order_by(
            f"-{entry.moment}"
        )[:FEED_LENGTH]
    ]
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)[:FEED_LENGTH]


def live_settings() -> dict:
    """What the dashboards' scripts take from the server rather than repeat: the names of the
    events they apply, and how the instructor's feed reads."""
    return {
        "events": {
            "enrolled": ENROLLMENT_CREATED.name,
            "cancelled": ENROLLMENT_CANCELLED.name,
            "lessonCompleted": LESSON_COMPLETED.name,
            "courseCompleted": COURSE_COMPLETED.name,
            "notificationCreated": NOTIFICATION_CREATED.name,
            "courseStatsUpdated": COURSE_STATS_UPDATED.name,
        },
        "feed": {
            "length": FEED_LENGTH,
            "entries": {
                entry.event_type.name: {"kind": entry.kind, "verb": entry.verb}
                for entry in FEED_ENTRIES
            },
        },
    }


@login_required
@live_page
def instructor_dashboard(request: HttpRequest) -> HttpResponse:
    if not is_instructor(request.user):
        raise PermissionDenied("The instructor dashboard is for instructors.")
    courses = Course.objects.filter(instructor=request.user).with_counts()
    notifications = request.user.training_notifications.filter(
        role=Notification.Role.INSTRUCTOR
    ).select_related("course")
    return render(
        request,
        "training/instructor_dashboard.html",
        {
            "courses": courses,
            "feed": enrollment_feed(request.user),
            "notifications": notifications[:NOTIFICATIONS_SHOWN],
            "unread": notifications.filter(read_at__isnull=True).count(),
            "charts": instructor_charts(request.user),
            "emails_on": NotificationPreference.wants_instructor_email(request.user),
            "live": live_settings(),
        },
    )


@require_POST
@login_required
def instructor_preferences(request: HttpRequest) -> HttpResponse:
    if not is_instructor(request.user):
        raise PermissionDenied("Only instructors have these preferences.")
    enabled = request.POST.get("email_instructor_updates") == "on"
    services.instructor_email_set(user=request.user, enabled=enabled)
    messages.success(
        request,
        "You will get an email for each enrollment and completion."
        if enabled
        else "You will no longer get emails about enrollments and completions.",
    )
    return redirect("training:instructor-dashboard")


@require_POST
@login_required
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.notification_mark_read(notification=notification)
    fallback = reverse(
        "training:instructor-dashboard"
        if notification.role == Notification.Role.INSTRUCTOR
        else "training:dashboard"
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = fallback
    return redirect(back or fallback)
