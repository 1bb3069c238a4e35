"""The training emails, rendered from templates as plain text with an HTML alternative.

Each takes the id of the event it answers, from which its Message-ID is derived: a delivery
run again, or a replay, reaches the inbox as the same message rather than a new one.
"""

from django.urls import reverse

from eventplatform.mail import send_templated, site_url
from eventplatform.users import display_name

from .models import Enrollment


def enrollment_context(enrollment: Enrollment) -> dict:
    course = enrollment.course
    lessons = list(course.lessons.all())
    return {
        "learner_name": display_name(enrollment.learner),
        "course": course,
        "course_url": site_url(course.get_absolute_url()),
        "lessons": lessons,
        "first_lesson_url": site_url(lessons[0].get_absolute_url()) if lessons else "",
        "instructor_name": display_name(course.instructor),
    }


def send_onboarding_email(enrollment: Enrollment, *, event_id: str) -> None:
    send_templated(
        to=enrollment.learner.email,
        subject=f"Welcome to {enrollment.course.title}",
        template="training/email/onboarding",
        context=enrollment_context(enrollment),
        event_id=event_id,
        kind="onboarding",
    )


def send_congratulations_email(enrollment: Enrollment, *, event_id: str) -> None:
    send_templated(
        to=enrollment.learner.email,
        subject=f"You completed {enrollment.course.title}",
        template="training/email/congratulations",
        context={
            **enrollment_context(enrollment),
            "dashboard_url": site_url(reverse("training:dashboard")),
        },
        event_id=event_id,
        kind="congratulations",
    )


def send_instructor_update(
    *, instructor, subject: str, message: str, url: str, event_id: str
) -> None:
    send_templated(
        to=instructor.email,
        subject=subject,
        template="training/email/instructor_update",
        context={
            "instructor_name": display_name(instructor),
            "message": message,
            "url": site_url(url),
        },
        event_id=event_id,
        kind="instructor-update",
    )
