"""Operators changing enrollments in the admin get the same outcome as the services give."""

import pytest
from django.urls import reverse
from django.utils import timezone

from eventplatform.events.models import Event
from training import services
from training.events import COURSE_COMPLETED, ENROLLMENT_CANCELLED
from training.models import Enrollment

pytestmark = pytest.mark.django_db
Status = Enrollment.Status


def set_status_in_admin(client, enrollment: Enrollment, status: str):
    return client.post(
        reverse("admin:training_enrollment_change", args=[enrollment.pk]),
        {
            "learner": enrollment.learner_id,
            "course": enrollment.course_id,
            "status": status,
            "progress-TOTAL_FORMS": 0,
            "progress-INITIAL_FORMS": 0,
        },
    )


@pytest.mark.parametrize(
    ("status", "moment", "event_type"),
    [
        (Status.CANCELLED, "cancelled_at", ENROLLMENT_CANCELLED),
        (Status.COMPLETED, "completed_at", COURSE_COMPLETED),
    ],
)
def test_an_enrollment_ended_in_the_admin_records_when_and_tells_the_instructor(
    admin_client, learner, course, enroll_now, status, moment, event_type
):
    enrollment = enroll_now(learner, course)
    before = timezone.now()

    response = set_status_in_admin(admin_client, enrollment, status)

    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == status
    assert getattr(enrollment, moment) >= before
    assert Event.objects.filter(type=event_type.name, payload__enrollment_id=enrollment.pk).exists()


def test_an_enrollment_that_ended_stays_as_it_ended_in_the_admin(
    admin_client, learner, course, enroll_now
):
    enrollment = services.cancel_enrollment(enrollment=enroll_now(learner, course))

    response = set_status_in_admin(admin_client, enrollment, Status.ACTIVE)

    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == Status.CANCELLED
    assert enrollment.cancelled_at is not None


def test_a_bulk_update_of_enrollments_is_refused_and_points_to_the_services(
    learner, course, enroll_now
):
    enrollment = enroll_now(learner, course)

    with pytest.raises(TypeError, match=r"training\.services"):
        Enrollment.objects.filter(pk=enrollment.pk).update(status=Status.CANCELLED)

    enrollment.refresh_from_db()
    assert enrollment.status == Status.ACTIVE
