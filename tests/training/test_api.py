"""The training API: who sees and changes what, and how bad input is refused."""

import pytest
from django.urls import reverse

from eventplatform.events.models import Event
from tests.clients import api_client_for
from tests.factories import UserFactory
from tests.training.factories import course_with_lessons
from training.models import Enrollment, LessonProgress

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(learner):
    return api_client_for(learner)


def enroll(client, course_id):
    return client.post("/api/v1/enrollments/", {"course": course_id}, format="json")


def test_courses_list_published_ones_with_their_lessons(api, course, instructor):
    course_with_lessons(instructor, "Hidden", title="Draft", published=False)
    response = api.get("/api/v1/courses/")
    assert response.status_code == 200
    [listed] = response.json()["results"]
    assert listed["title"] == "Event-Driven Django"
    assert [lesson["title"] for lesson in listed["lessons"]] == [
        "Why events?",
        "Publishing after commit",
        "Idempotent handlers",
    ]
    assert (listed["lesson_count"], listed["enrolled_count"], listed["is_full"]) == (3, 0, False)
    assert api.get(f"/api/v1/courses/{course.pk}/").json()["id"] == course.pk


def test_instructors_also_see_their_unpublished_courses_and_can_filter(course, instructor):
    course_with_lessons(instructor, "Hidden", title="Draft", published=False)
    client = api_client_for(instructor)
    titles = [c["title"] for c in client.get("/api/v1/courses/").json()["results"]]
    assert titles == ["Draft", "Event-Driven Django"]
    assert [c["title"] for c in client.get("/api/v1/courses/?search=event").json()["results"]] == [
        "Event-Driven Django"
    ]
    for bad in ("x", "9" * 30, "-1"):
        response = client.get("/api/v1/courses/", {"instructor": bad})
        assert response.status_code == 400
        assert response.json() == {"instructor": ["Must be a whole number (an id)."]}


def test_enrolling_through_the_api_returns_the_enrollment_with_progress(
    api, course, django_capture_on_commit_callbacks, task_queue
):
    with django_capture_on_commit_callbacks(execute=True):
        response = enroll(api, course.pk)
    assert response.status_code == 201
    body = response.json()
    assert (body["course"], body["status"], body["completed_lessons"], body["total_lessons"]) == (
        course.pk,
        "active",
        0,
        3,
    )
    assert body["next_lesson"] == course.lessons.first().pk
    assert len(task_queue) == 5, "one delivery per reaction to the enrollment"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("twice", "You are already enrolled in this course."),
        ("unpublished", "There is no such course."),
        ("full", "This course is full."),
        ("missing", "There is no such course."),
    ],
)
def test_refused_enrollments_are_a_400_naming_the_course_and_write_nothing(
    api, learner, instructor, setup, message
):
    course = course_with_lessons(instructor, "One", capacity=1, published=setup != "unpublished")
    if setup == "twice":
        assert enroll(api, course.pk).status_code == 201
    if setup == "full":
        assert enroll(api_client_for(UserFactory()), course.pk).status_code == 201
    before = (Enrollment.objects.count(), Event.objects.count())

    response = enroll(api, 999999 if setup == "missing" else course.pk)

    assert response.status_code == 400
    assert response.json() == {"course": [message]}
    assert (Enrollment.objects.count(), Event.objects.count()) == before


def test_enrolling_without_a_course_names_the_field(api):
    response = api.post("/api/v1/enrollments/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"course": ["This field is required."]}


def test_learners_list_their_own_and_instructors_their_courses_enrollments(
    learner, course, instructor
):
    other_instructor = UserFactory(username="other-instructor")
    elsewhere = course_with_lessons(other_instructor, "Intro", title="Elsewhere")
    classmate = UserFactory(username="classmate")
    mine = enroll(api_client_for(learner), course.pk).json()["id"]
    theirs = enroll(api_client_for(classmate), course.pk).json()["id"]
    enroll(api_client_for(learner), elsewhere.pk)

    def ids(client, query=""):
        return sorted(e["id"] for e in client.get(f"/api/v1/enrollments/{query}").json()["results"])

    assert len(ids(api_client_for(learner))) == 2
    assert ids(api_client_for(classmate)) == [theirs]
    assert ids(api_client_for(instructor)) == sorted([mine, theirs])
    assert ids(api_client_for(learner), f"?course={course.pk}") == [mine]
    assert ids(api_client_for(learner), "?status=completed") == []
    bad = api_client_for(learner).get("/api/v1/enrollments/?status=finished")
    assert bad.status_code == 400
    assert bad.json() == {"status": ['"finished" is not a valid choice.']}
    assert api_client_for(classmate).get(f"/api/v1/enrollments/{mine}/").status_code == 404
    assert api_client_for(instructor).get(f"/api/v1/enrollments/{mine}/").status_code == 200


def test_progress_marks_a_lesson_and_only_the_learner_may(api, learner, course, instructor):
    enrollment_id = enroll(api, course.pk).json()["id"]
    first, second, _ = course.lessons.all()
    url = f"/api/v1/enrollments/{enrollment_id}/progress/"

    response = api.post(url, {"lesson": first.pk}, format="json")
    assert response.status_code == 200
    assert (response.json()["completed_lessons"], response.json()["percent_complete"]) == (1, 33)
    assert response.json()["next_lesson"] == second.pk

    by_instructor = api_client_for(instructor).post(url, {"lesson": second.pk}, format="json")
    assert by_instructor.status_code == 403
    by_stranger = api_client_for(UserFactory()).post(url, {"lesson": second.pk}, format="json")
    assert by_stranger.status_code == 404
    assert LessonProgress.objects.count() == 1


def test_progress_refuses_a_lesson_of_another_course_or_none(api, course, instructor):
    other = course_with_lessons(instructor, "Elsewhere")
    enrollment_id = enroll(api, course.pk).json()["id"]
    url = f"/api/v1/enrollments/{enrollment_id}/progress/"

    wrong = api.post(url, {"lesson": other.lessons.get().pk}, format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {"lesson": ["This lesson belongs to another course."]}
    missing = api.post(url, {"lesson": "one"}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {"lesson": ["Must be a whole number (an id)."]}
    assert not LessonProgress.objects.exists()


def test_completing_through_the_api_completes_the_enrollment(api, course):
    enrollment_id = enroll(api, course.pk).json()["id"]
    for lesson in course.lessons.all():
        response = api.post(
            f"/api/v1/enrollments/{enrollment_id}/progress/", {"lesson": lesson.pk}, format="json"
        )
    assert response.json()["status"] == "completed"
    assert response.json()["next_lesson"] is None
    again = enroll(api, course.pk)
    assert again.json() == {"course": ["You have already completed this course."]}


def test_cancelling_frees_the_seat_and_cannot_happen_twice(api, course, instructor):
    course.capacity = 1
    course.save()
    enrollment_id = enroll(api, course.pk).json()["id"]
    url = f"/api/v1/enrollments/{enrollment_id}/cancel/"
    assert api_client_for(instructor).post(url).status_code == 403

    assert api.post(url).json()["status"] == "cancelled"
    assert api.post(url).json() == {"status": ["Only an active enrollment can be cancelled."]}
    assert enroll(api_client_for(UserFactory()), course.pk).status_code == 201


def test_anonymous_requests_are_refused(client, course):
    assert client.get("/api/v1/courses/").status_code == 401
    assert client.post("/api/v1/enrollments/", {"course": course.pk}).status_code == 401
    assert not Enrollment.objects.exists()


def test_the_openapi_schema_describes_the_training_endpoints(client, staff):
    client.force_login(staff)
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    assert schema["paths"]["/api/v1/enrollments/"]["post"]["summary"] == "Enroll in a course"
    progress = schema["paths"]["/api/v1/enrollments/{id}/progress/"]["post"]
    assert progress["summary"] == "Mark a lesson complete"
    assert "/api/v1/courses/{id}/" in schema["paths"]
