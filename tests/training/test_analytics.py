"""The analytics pipeline: activity per event, daily aggregates, a funnel; never counted twice."""

import pytest
from django.utils import timezone

from eventplatform.events.models import Delivery, Event
from eventplatform.events.queue import enqueue_deliveries
from tests.factories import UserFactory
from training import services
from training.analytics import course_funnels, instructor_charts
from training.handlers import record_learning_activity
from training.models import Activity, DailyCourseStats

pytestmark = pytest.mark.django_db


def test_aggregates_are_right_after_a_burst_of_enrollments_with_redeliveries(
    course, instructor, enroll_now, complete_now, django_capture_on_commit_callbacks, task_queue
):
    learners = [UserFactory(username=f"burst{n}") for n in range(8)]
    enrollments = [enroll_now(learner, course) for learner in learners]
    for enrollment in enrollments[:3]:
        complete_now(enrollment, course.lessons.first())
    for enrollment in enrollments[:2]:
        for lesson in course.lessons.all()[1:]:
            complete_now(enrollment, lesson)
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_cancel(enrollment=enrollments[7])
    task_queue.run()

    # Redelivery after a crash: the handler runs again for events it already recorded...
    for event in Event.objects.filter(type__startswith="training.enrollment."):
        record_learning_activity(event)
    # ...and a duplicate task for a finished delivery does nothing at all.
    enqueue_deliveries(Delivery.objects.values_list("pk", flat=True))
    task_queue.run()

    stats = DailyCourseStats.objects.get(course=course, day=timezone.localdate())
    assert (
        stats.enrollments,
        stats.cancellations,
        stats.lesson_completions,
        stats.course_completions,
        stats.active_learners,
    ) == (8, 1, 3 + 2 * 2, 2, 8)
    assert Activity.objects.count() == 8 + 1 + 7 + 2
    assert course_funnels([course.pk])[course.pk] == {"enrolled": 8, "started": 3, "completed": 2}

    charts = instructor_charts(instructor)
    assert charts["days"][-1] == timezone.localdate().isoformat()
    assert charts["courses"][str(course.pk)]["enrollments"] == {charts["days"][-1]: 8}

    latest = Event.objects.filter(type="training.course_stats.updated.v1").first()
    assert latest.audience == [f"instructor.{instructor.pk}"]
    assert latest.payload["enrollments"] == 8
    assert latest.payload["funnel_completed"] == 2


def test_the_same_event_recorded_twice_counts_once(learner, course, enroll_now):
    enroll_now(learner, course)
    event = Event.objects.get(type="training.enrollment.created.v1")

    record_learning_activity(event)
    record_learning_activity(event)

    assert Activity.objects.get().event_id == event.id
    stats = DailyCourseStats.objects.get(course=course)
    assert (stats.enrollments, stats.active_learners) == (1, 1)
