"""Every way an operator can change an enrollment in the admin ends where the services end:
the same status, the same timestamps, the same refusals, the same events. What reactions
write, operators only read (or mark read)."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from eventplatform.events.models import Event
from tests.factories import UserFactory
from tests.training.factories import course_with_lessons
from training import services
from training.events import COURSE_COMPLETED, ENROLLMENT_CANCELLED, ENROLLMENT_CREATED
from training.models import Enrollment, LessonProgress, Notification

pytestmark = pytest.mark.django_db
Status = Enrollment.Status
Role = Notification.Role


def submit(client, url: str, **fields):
    """Post an enrollment's admin form, with its (empty) lesson progress inline."""
    return client.post(url, {"progress-TOTAL_FORMS": 0, "progress-INITIAL_FORMS": 0, **fields})


def add_in_admin(client, learner, course):
    return submit(
        client, reverse("admin:training_enrollment_add"), learner=learner.pk, course=course.pk
    )


def change_in_admin(client, enrollment: Enrollment, **fields):
    return submit(
        client, reverse("admin:training_enrollment_change", args=[enrollment.pk]), **fields
    )


def outcome(enrollment: Enrollment) -> tuple:
    """What the platform shows of an enrollment: its status, whether it was cancelled or
    completed, and the events that told the dashboards, in order."""
    enrollment.refresh_from_db()
    events = Event.objects.filter(payload__enrollment_id=enrollment.pk).order_by("position")
    return (
        enrollment.status,
        enrollment.cancelled_at is not None,
        enrollment.completed_at is not None,
        list(events.values_list("type", flat=True)),
    )


def test_an_enrollment_added_in_the_admin_is_made_by_the_service(admin_client, learner, course):
    by_service = services.enrollment_create(learner=UserFactory(), course=course)

    response = add_in_admin(admin_client, learner, course)

    assert response.status_code == 302
    added = Enrollment.objects.get(learner=learner)
    assert outcome(added) == outcome(by_service)
    assert outcome(added) == (Status.ACTIVE, False, False, [ENROLLMENT_CREATED.name])


def full(learner, course):
    course.capacity = 1
    course.save()
    services.enrollment_create(learner=UserFactory(), course=course)


def enrolled(learner, course):
    services.enrollment_create(learner=learner, course=course)


def completed(learner, course):
    services.enrollment_complete(
        enrollment=services.enrollment_create(learner=learner, course=course)
    )


def unpublished(learner, course):
    course.published = False
    course.save()


def taught_by_the_learner(learner, course):
    course.instructor = learner
    course.save()


@pytest.mark.parametrize(
    "refusal",
    [full, enrolled, completed, unpublished, taught_by_the_learner],
    ids=lambda f: f.__name__,
)
def test_an_enrollment_the_service_refuses_is_refused_on_the_admin_form(
    admin_client, learner, course, refusal
):
    refusal(learner, course)
    with pytest.raises(ValidationError) as by_service:
        services.enrollment_create(learner=learner, course=course)
    before = (Enrollment.objects.count(), Event.objects.count())

    response = add_in_admin(admin_client, learner, course)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == by_service.value.message_dict
    assert (Enrollment.objects.count(), Event.objects.count()) == before


@pytest.mark.parametrize(
    ("status", "service", "event_type"),
    [
        (Status.CANCELLED, services.enrollment_cancel, ENROLLMENT_CANCELLED),
        (Status.COMPLETED, services.enrollment_complete, COURSE_COMPLETED),
    ],
)
def test_an_enrollment_ended_in_the_admin_ends_as_the_service_ends_it(
    admin_client, learner, course, status, service, event_type
):
    in_admin = services.enrollment_create(learner=learner, course=course)
    by_service = service(
        enrollment=services.enrollment_create(learner=UserFactory(), course=course)
    )
    before = timezone.now()

    response = change_in_admin(admin_client, in_admin, status=status)

    assert response.status_code == 302
    assert outcome(in_admin) == outcome(by_service)
    assert outcome(in_admin)[0] == status
    assert outcome(in_admin)[3] == [ENROLLMENT_CREATED.name, event_type.name]
    assert (in_admin.cancelled_at or in_admin.completed_at) >= before


@pytest.mark.parametrize("service", [services.enrollment_cancel, services.enrollment_complete])
def test_an_enrollment_that_ended_stays_as_it_ended_in_the_admin(
    admin_client, learner, course, service
):
    enrollment = service(enrollment=services.enrollment_create(learner=learner, course=course))
    ended = outcome(enrollment)

    response = change_in_admin(admin_client, enrollment, status=Status.ACTIVE)

    assert response.status_code == 302
    assert outcome(enrollment) == ended


def test_an_enrollment_keeps_its_learner_and_course_in_the_admin(
    admin_client, learner, course, instructor
):
    """Moving an enrollment would skip the other course's rules (a full course, a learner
    already in it): an operator cancels it and enrolls the learner anew instead."""
    enrollment = services.enrollment_create(learner=learner, course=course)
    other_course = course_with_lessons(instructor, "Intro", title="Full", capacity=1)
    services.enrollment_create(learner=UserFactory(), course=other_course)

    response = change_in_admin(
        admin_client,
        enrollment,
        learner=UserFactory().pk,
        course=other_course.pk,
        status=Status.ACTIVE,
    )

    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert (enrollment.learner, enrollment.course) == (learner, course)
    assert other_course.seats_taken() == 1


def test_lesson_progress_is_not_recorded_in_the_admin(admin_client, learner, course):
    enrollment = services.enrollment_create(learner=learner, course=course)

    response = change_in_admin(
        admin_client,
        enrollment,
        status=Status.ACTIVE,
        **{
            "progress-TOTAL_FORMS": 1,
            "progress-0-enrollment": enrollment.pk,
            "progress-0-lesson": course.lessons.first().pk,
        },
    )

    assert response.status_code == 302
    assert not LessonProgress.objects.exists()
    assert outcome(enrollment) == (Status.ACTIVE, False, False, [ENROLLMENT_CREATED.name])


def test_enrollments_are_cancelled_not_deleted_in_the_admin(admin_client, learner, course):
    enrollment = services.enrollment_create(learner=learner, course=course)

    page = admin_client.get(reverse("admin:training_enrollment_delete", args=[enrollment.pk]))
    action = admin_client.post(
        reverse("admin:training_enrollment_changelist"),
        {"action": "delete_selected", "_selected_action": [enrollment.pk], "post": "yes"},
    )

    assert page.status_code == 403
    assert action.status_code == 200  # the list again: it offers no action to run
    assert outcome(enrollment) == (Status.ACTIVE, False, False, [ENROLLMENT_CREATED.name])


def test_a_bulk_update_of_enrollments_is_refused_and_points_to_the_services(learner, course):
    enrollment = services.enrollment_create(learner=learner, course=course)

    with pytest.raises(TypeError, match=r"training\.services"):
        Enrollment.objects.filter(pk=enrollment.pk).update(status=Status.CANCELLED)

    enrollment.refresh_from_db()
    assert enrollment.status == Status.ACTIVE


def test_notifications_are_made_by_reactions_and_only_marked_read_in_the_admin(
    admin_client, learner
):
    """A notification answers one event: one added by hand would have none (and failed)."""
    notice = services.notification_create(
        recipient_id=learner.pk, role=Role.LEARNER, message="Welcome!", event_id=uuid.uuid4()
    )

    add = admin_client.post(
        reverse("admin:training_notification_add"),
        {"recipient": learner.pk, "role": Role.LEARNER, "message": "By hand", "url": ""},
    )
    mark = admin_client.post(
        reverse("admin:training_notification_changelist"),
        {"action": "mark_read", "_selected_action": [notice.pk]},
    )

    assert add.status_code == 403
    assert mark.status_code == 302
    assert list(Notification.objects.values_list("message", flat=True)) == ["Welcome!"]
    notice.refresh_from_db()
    assert notice.is_read
