"""Bad input to the training API is a 400 naming what it refuses: never coerced into something
else, never a 500, never a partial write; and its answers do not reveal unpublished courses."""

import pytest

from eventplatform.events.models import Event
from tests.clients import api_client_for
from tests.factories import UserFactory
from tests.training.factories import course_with_lessons
from training.models import Enrollment, LessonProgress

pytestmark = pytest.mark.django_db

NOT_AN_ID = ["Must be a whole number (an id)."]


@pytest.fixture
def api(learner):
    return api_client_for(learner)


def enroll(client, course_id):
    return client.post("/api/v1/enrollments/", {"course": course_id}, format="json")


# Each built from a real course's id, so that rounding, trimming or parsing would land on it.
NOT_WHOLE_IDS = {
    "a fraction": lambda pk: pk + 0.5,
    "a whole float": lambda pk: float(pk),
    "a fraction in text": lambda pk: f"{pk}.5",
    "a decimal in text": lambda pk: f"{pk}.0",
    "padded text": lambda pk: f" {pk}",
    "an exponent": lambda pk: f"{pk}e0",
    "arabic-indic digits": lambda pk: "".join(chr(0x660 + int(digit)) for digit in str(pk)),
    "a boolean": lambda pk: True,
    "a list": lambda pk: [pk],
    "an object": lambda pk: {"id": pk},
    "a negative number": lambda pk: -pk,
    "past 64 bits": lambda pk: 2**64 + pk,
}


@pytest.mark.parametrize("given", NOT_WHOLE_IDS.values(), ids=NOT_WHOLE_IDS.keys())
def test_a_course_that_is_not_a_whole_id_is_refused_not_coerced(api, course, given):
    response = enroll(api, given(course.pk))

    assert response.status_code == 400
    assert response.json() == {"course": NOT_AN_ID}
    assert not Enrollment.objects.exists()


def test_a_course_id_sent_as_text_still_enrolls(api, course):
    """Forms and some clients send ids as digits in text: that is the id, not a coercion."""
    assert enroll(api, str(course.pk)).status_code == 201


def test_a_lesson_that_is_not_a_whole_id_is_refused_not_rounded(api, course):
    enrollment_id = enroll(api, course.pk).json()["id"]
    lesson = course.lessons.first()

    response = api.post(
        f"/api/v1/enrollments/{enrollment_id}/progress/", {"lesson": lesson.pk + 0.5}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"lesson": NOT_AN_ID}
    assert not LessonProgress.objects.exists()


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/courses/", "search"),
        ("/api/v1/courses/", "instructor"),
        ("/api/v1/courses/", "page"),
        ("/api/v1/enrollments/", "status"),
        ("/api/v1/enrollments/", "course"),
        ("/api/v1/enrollments/", "page"),
    ],
)
@pytest.mark.parametrize("value", ["a\x00b", "\x00"], ids=["nul inside", "nul alone"])
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(api, course, path, parameter, value):
    response = api.get(path, {parameter: value})

    assert response.status_code == 400
    assert list(response.json()) == [parameter]


def test_a_bad_query_parameter_among_good_ones_is_named_alone(api, course):
    response = api.get("/api/v1/courses/", {"search": "event", "instructor": "1.5"})

    assert response.status_code == 400
    assert response.json() == {"instructor": NOT_AN_ID}


def test_a_page_that_is_not_a_number_is_a_400_and_one_past_the_end_a_404(api, course):
    not_a_number = api.get("/api/v1/courses/", {"page": "two"})
    assert not_a_number.status_code == 400
    assert not_a_number.json() == {"page": ["A valid integer is required."]}
    assert api.get("/api/v1/courses/", {"page": "0"}).status_code == 400
    assert api.get("/api/v1/courses/", {"page": "1"}).status_code == 200
    assert api.get("/api/v1/courses/", {"page": "2"}).status_code == 404


def test_an_unpublished_course_is_answered_as_a_missing_one(api, instructor):
    draft = course_with_lessons(instructor, "Hidden", title="Draft", published=False)
    missing = draft.pk + 1000
    events_before = Event.objects.count()

    assert enroll(api, draft.pk).json() == enroll(api, missing).json()
    assert enroll(api, draft.pk).status_code == enroll(api, missing).status_code == 400
    draft_page, missing_page = (api.get(f"/api/v1/courses/{pk}/") for pk in (draft.pk, missing))
    assert draft_page.status_code == missing_page.status_code == 404
    assert draft_page.json() == missing_page.json()
    assert not Enrollment.objects.exists()
    assert Event.objects.count() == events_before


def test_the_instructor_of_an_unpublished_course_is_told_it_is_not_open(instructor):
    draft = course_with_lessons(instructor, "Hidden", title="Draft", published=False)
    someone_else = api_client_for(UserFactory())
    teacher = api_client_for(instructor)

    assert enroll(someone_else, draft.pk).json() == {"course": ["There is no such course."]}
    assert teacher.get(f"/api/v1/courses/{draft.pk}/").status_code == 200
    assert enroll(teacher, draft.pk).json() == {
        "course": ["This course is not open for enrollment."]
    }
