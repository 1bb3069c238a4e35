"""The training emails, rendered from templates as plain text with an HTML alternative."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Enrollment, display_name


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def send_templated(*, to: str, subject: str, template: str, context: dict) -> None:
    """Send ``training/email/<template>.txt`` with its ``.html`` twin as the alternative."""
    context = {**context, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"training/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(
        render_to_string(f"training/email/{template}.html", context), "text/html"
    )
    message.send()


def enrollment_context(enrollment: Enrollment) -> dict:
    course = enrollment.course
    lessons = list(course.lessons.all())
    return {
        "learner_name": display_name(enrollment.learner),
        "course": course,
        "course_url": absolute(course.get_absolute_url()),
        "lessons": lessons,
        "first_lesson_url": absolute(lessons[0].get_absolute_url()) if lessons else "",
        "instructor_name": display_name(course.instructor),
    }


def send_onboarding_email(enrollment: Enrollment) -> None:
    send_templated(
        to=enrollment.learner.email,
        subject=f"Welcome to {enrollment.course.title}",
        template="onboarding",
        context=enrollment_context(enrollment),
    )


def send_congratulations_email(enrollment: Enrollment) -> None:
    send_templated(
        to=enrollment.learner.email,
        subject=f"You completed {enrollment.course.title}",
        template="congratulations",
        context={
            **enrollment_context(enrollment),
            "dashboard_url": absolute(reverse("training:dashboard")),
        },
    )


def send_instructor_update(*, instructor, subject: str, message: str, url: str) -> None:
    send_templated(
        to=instructor.email,
        subject=subject,
        template="instructor_update",
        context={
            "instructor_name": display_name(instructor),
            "message": message,
            "url": absolute(url),
        },
    )
