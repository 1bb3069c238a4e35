"""The training lists and dashboards read in a fixed number of queries, however long they are.

Each test runs with 1 row and with 20 and pins the same count, so a model method called once
per row (an N+1) fails it. Pages count their session and user lookups; API clients are
authenticated without a query.
"""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory
from training import services
from training.models import Activity, Course, Enrollment, Lesson, Notification

pytestmark = pytest.mark.django_db

Role = Notification.Role

# Session, user, the user's roles and the newest event they may see (live page), the
# enrollments with their courses, their progress, their courses' lessons, the menu's two role
# checks, the notifications.
LEARNER_DASHBOARD_QUERIES = 10
# Session, user, roles and newest event (live page), instructor check, the feed's three lists,
# unread count, the charts' courses, day totals and funnels, email preference, the menu's two
# role checks, the courses with their counts, the notifications.
INSTRUCTOR_DASHBOARD_QUERIES = 17
# Session, user, the learner's enrollments, the menu's two role checks, the courses with
# their instructors and counts.
CATALOG_QUERIES = 6
# Count, the page of courses with instructors and counts, their lessons.
COURSE_LIST_QUERIES = 3
# Count, the page of enrollments with courses and learners, their progress, their lessons.
ENROLLMENT_LIST_QUERIES = 4


@pytest.fixture(params=[1, 20], ids=lambda rows: f"{rows} rows")
def rows(request) -> int:
    return request.param


def someone():
    """A user who never logs in: no password to hash, so twenty of them cost nothing."""
    return UserFactory(password=None)


def open_course(instructor, number: int, lessons: int = 3) -> Course:
    course = Course.objects.create(
        title=f"Course {number:02d}", instructor=instructor, published=True
    )
    for position in range(1, lessons + 1):
        Lesson.objects.create(course=course, position=position, title=f"Lesson {position}")
    return course


def progress(enrollment: Enrollment, number: int) -> None:
    """Vary the rows: a first lesson done, the whole course done, or nothing yet."""
    lessons = list(enrollment.course.lessons.all())
    done = {0: lessons[:1], 1: lessons, 2: []}[number % 3]
    for lesson in done:
        services.lesson_complete(enrollment=enrollment, lesson=lesson)


def notify(user, role: str, course: Course, number: int) -> Notification:
    return services.notification_create(
        recipient_id=user.pk,
        role=role,
        message=f"Notice {number}",
        event_id=uuid.uuid4(),
        course_id=course.pk,
        url=course.get_absolute_url(),
    )


@pytest.fixture
def learning(rows, learner) -> list[Enrollment]:
    """The learner in ``rows`` courses, each by another instructor, at varied progress, with a
    notification about each."""
    enrollments = []
    for number in range(rows):
        course = open_course(someone(), number)
        enrollment = services.enrollment_create(learner=learner, course=course)
        progress(enrollment, number)
        notify(learner, Role.LEARNER, course, number)
        enrollments.append(enrollment)
    return enrollments


@pytest.fixture
def teaching(rows, instructor) -> list[Course]:
    """The instructor's ``rows`` courses, each with a learner of its own who enrolled, made
    progress or left, the activity the analytics recorded, and a notification."""
    courses = []
    for number in range(rows):
        course = open_course(instructor, number)
        learner = someone()
        enrollment = services.enrollment_create(learner=learner, course=course)
        progress(enrollment, number)
        if number % 6 == 5:  # one with no progress yet
            services.enrollment_cancel(enrollment=enrollment)
        services.activity_record(
            event_id=uuid.uuid4(),
            kind=Activity.Kind.ENROLLED,
            course_id=course.pk,
            learner_id=learner.pk,
            occurred_at=timezone.now(),
        )
        notify(instructor, Role.INSTRUCTOR, course, number)
        courses.append(course)
    return courses


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_learner_dashboard(client, learner, learning, rows, django_assert_num_queries):
    client.force_login(learner)
    with django_assert_num_queries(LEARNER_DASHBOARD_QUERIES):
        response = client.get(reverse("training:dashboard"))
    assert len(response.context["cards"]) == rows
    assert len(response.context["notifications"]) == rows


def test_the_instructor_dashboard(client, instructor, teaching, rows, django_assert_num_queries):
    client.force_login(instructor)
    with django_assert_num_queries(INSTRUCTOR_DASHBOARD_QUERIES):
        response = client.get(reverse("training:instructor-dashboard"))
    assert len(response.context["courses"]) == rows
    assert len(response.context["feed"]) >= rows
    assert len(response.context["notifications"]) == rows


def test_the_catalog(client, learner, learning, rows, django_assert_num_queries):
    client.force_login(learner)
    with django_assert_num_queries(CATALOG_QUERIES):
        response = client.get(reverse("training:catalog"))
    assert len(response.context["courses"]) == rows


def test_the_course_list(learner, learning, rows, django_assert_num_queries):
    with django_assert_num_queries(COURSE_LIST_QUERIES):
        response = api_client(learner).get("/api/v1/courses/")
    assert len(response.json()["results"]) == rows


def test_a_learners_enrollment_list(learner, learning, rows, django_assert_num_queries):
    with django_assert_num_queries(ENROLLMENT_LIST_QUERIES):
        response = api_client(learner).get("/api/v1/enrollments/")
    assert len(response.json()["results"]) == rows


def test_an_instructors_enrollment_list(instructor, teaching, rows, django_assert_num_queries):
    with django_assert_num_queries(ENROLLMENT_LIST_QUERIES):
        response = api_client(instructor).get("/api/v1/enrollments/")
    assert len(response.json()["results"]) == rows
