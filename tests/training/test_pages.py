"""The training pages: catalog, course, lesson, and both dashboards with their live hooks."""

import json
import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.training.factories import course_with_lessons
from training import services
from training.events import ENROLLMENT_CANCELLED, ENROLLMENT_CREATED, LESSON_COMPLETED
from training.models import Enrollment, Notification

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_published_courses_and_marks_full_and_enrolled(
    client, learner, course, instructor
):
    full = course_with_lessons(instructor, "Only", title="Tiny", capacity=1)
    services.enrollment_create(learner=UserFactory(), course=full)
    course_with_lessons(instructor, "Hidden", title="Draft", published=False)
    services.enrollment_create(learner=learner, course=course)
    client.force_login(learner)

    page = client.get(reverse("training:catalog")).content.decode()

    assert "Event-Driven Django" in page and "Tiny" in page and "Draft" not in page
    assert f'data-course-id="{course.pk}"' in page
    assert '<span class="badge ok">Enrolled</span>' in page
    assert '<span class="badge bad">Full</span>' in page


def test_the_course_page_offers_enroll_then_shows_the_enrollment(client, learner, course):
    client.force_login(learner)
    url = reverse("training:course", args=[course.pk])
    assert 'data-action="enroll"' in client.get(url).content.decode()

    response = client.post(reverse("training:enroll", args=[course.pk]), follow=True)

    assert response.redirect_chain[-1][0] == url
    page = response.content.decode()
    assert "You are enrolled in Event-Driven Django." in page
    assert 'data-action="enroll"' not in page
    assert '<span class="badge ok" data-field="enrollment-status">Enrolled</span>' in page
    assert "Continue learning" in page


def test_a_full_course_says_so_and_refuses_with_a_message(client, learner, instructor):
    full = course_with_lessons(instructor, "Only", title="Tiny", capacity=1)
    services.enrollment_create(learner=UserFactory(), course=full)
    client.force_login(learner)

    page = client.get(reverse("training:course", args=[full.pk])).content.decode()
    assert "All 1 seats are taken." in page and 'data-action="enroll"' not in page
    response = client.post(reverse("training:enroll", args=[full.pk]), follow=True)
    assert "This course is full." in response.content.decode()
    assert not Enrollment.objects.filter(learner=learner).exists()


def test_marking_lessons_complete_on_the_lesson_page_moves_the_dashboard_bar(
    client, learner, course
):
    services.enrollment_create(learner=learner, course=course)
    client.force_login(learner)
    first, second, _ = course.lessons.all()

    page = client.get(reverse("training:lesson", args=[course.pk, first.pk])).content.decode()
    assert 'data-action="complete-lesson"' in page
    response = client.post(reverse("training:complete-lesson", args=[course.pk, first.pk]))
    assert response.url == second.get_absolute_url()

    dashboard = client.get(reverse("training:dashboard")).content.decode()
    assert f'data-course-id="{course.pk}"' in dashboard
    assert 'data-progress role="progressbar" aria-valuenow="33"' in dashboard
    assert '<span style="width: 33%"></span>' in dashboard
    assert '<span data-field="progress-text">33%</span>' in dashboard
    assert f'Next: <a href="{second.get_absolute_url()}">Publishing after commit</a>' in dashboard
    assert "data-stream-status" in dashboard and 'name="stream-since"' in dashboard


def test_lessons_are_for_enrolled_learners(client, learner, course):
    client.force_login(learner)
    lesson = course.lessons.first()
    response = client.get(reverse("training:lesson", args=[course.pk, lesson.pk]))
    assert response.url == course.get_absolute_url()
    client.post(reverse("training:complete-lesson", args=[course.pk, lesson.pk]))
    assert not lesson.progress.exists()


def test_an_empty_dashboard_points_to_the_catalog(client, learner):
    client.force_login(learner)
    page = client.get(reverse("training:dashboard")).content.decode()
    assert "You are not enrolled in any course yet." in page
    assert reverse("training:catalog") in page


def test_the_instructor_dashboard_is_for_instructors_only(client, learner, instructor):
    url = reverse("training:instructor-dashboard")
    assert client.get(url).url.startswith(reverse("login"))
    client.force_login(learner)
    assert client.get(url).status_code == 403
    client.force_login(instructor)
    assert client.get(url).status_code == 200


def test_the_instructor_dashboard_shows_counts_feed_notifications_and_chart_data(
    client, learner, course, instructor, django_capture_on_commit_callbacks, task_queue
):
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_create(learner=learner, course=course)
    task_queue.run()
    client.force_login(instructor)

    page = client.get(reverse("training:instructor-dashboard")).content.decode()

    assert f'<tr data-course-id="{course.pk}">' in page
    assert '<strong data-field="enrollment-count">1</strong>' in page
    assert "data-feed" in page and "Lee Park</strong>\n          enrolled in" in page
    assert "Lee Park enrolled in Event-Driven Django." in page
    assert 'data-chart="enrollments-per-day"' in page and 'data-chart="completion-funnel"' in page
    assert '"funnel": {"enrolled": 1, "started": 0, "completed": 0}' in page
    assert "1 unread" in page


def test_a_notification_is_marked_read_by_its_recipient_only(
    client, learner, course, instructor, django_capture_on_commit_callbacks, task_queue
):
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_create(learner=learner, course=course)
    task_queue.run()
    notice = Notification.objects.get(recipient=instructor)
    url = reverse("training:notification-read", args=[notice.pk])

    client.force_login(learner)
    assert client.post(url).status_code == 404
    client.force_login(instructor)
    response = client.post(url, {"next": "https://evil.example/"})
    assert response.url == reverse("training:instructor-dashboard")
    notice.refresh_from_db()
    assert notice.is_read


def test_instructors_opt_in_to_email_from_their_dashboard(client, instructor, learner):
    client.force_login(instructor)
    client.post(reverse("training:instructor-preferences"), {"email_instructor_updates": "on"})
    assert instructor.training_preferences.email_instructor_updates
    client.force_login(learner)
    assert client.post(reverse("training:instructor-preferences")).status_code == 403


def test_user_text_is_escaped_on_the_pages(client, instructor, learner):
    course = course_with_lessons(instructor, "<b>bold</b>", title="<script>alert(1)</script>")
    services.enrollment_create(learner=learner, course=course)
    client.force_login(learner)
    page = client.get(reverse("training:dashboard")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("user", "page"),
    [("learner", "training:dashboard"), ("instructor", "training:instructor-dashboard")],
)
def test_the_dashboards_name_the_events_their_scripts_apply(client, request, user, page):
    """The scripts take the event names from the page, so a new version of an event type
    reaches them without an edit to the scripts."""
    client.force_login(request.getfixturevalue(user))

    html = client.get(reverse(page)).content.decode()

    found = re.search(r'<script id="training-live" type="application/json">(.+?)</script>', html)
    settings = json.loads(found.group(1))
    assert settings["events"]["enrolled"] == ENROLLMENT_CREATED.name
    assert settings["events"]["lessonCompleted"] == LESSON_COMPLETED.name
    assert settings["feed"]["entries"][ENROLLMENT_CANCELLED.name] == {
        "kind": "cancelled",
        "verb": "left",
    }


def test_progress_rounds_halves_up_on_the_pages_as_live_updates_do(client, learner, instructor):
    course = course_with_lessons(instructor, *(f"Part {n}" for n in range(1, 9)), title="Eights")
    enrollment = services.enrollment_create(learner=learner, course=course)
    services.lesson_complete(enrollment=enrollment, lesson=course.lessons.first())
    client.force_login(learner)

    dashboard = client.get(reverse("training:dashboard")).content.decode()
    lesson = client.get(course.lessons.first().get_absolute_url()).content.decode()

    assert '<span data-field="progress-text">13%</span>' in dashboard  # 1 of 8 is 12.5%
    assert '<span data-field="progress-text">13%</span>' in lesson
