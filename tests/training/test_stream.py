"""Training events on the live stream: the learner sees their own, the instructor their courses'."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group

from eventplatform.events.models import Event
from tests.factories import UserFactory
from tests.streams import next_event, stream_socket
from tests.training.factories import course_with_lessons
from training import services
from training.audience import INSTRUCTORS_ROLE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def make_instructor(username: str):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get_or_create(name=INSTRUCTORS_ROLE)[0])
    return user


@database_sync_to_async
def make_course(instructor, title: str):
    return course_with_lessons(instructor, "First", "Second", title=title)


@database_sync_to_async
def enroll(learner, course):
    return services.enrollment_create(learner=learner, course=course)


async def test_enrollments_reach_the_learner_and_the_course_instructor_only():
    teacher = await make_instructor("teacher")
    other_teacher = await make_instructor("other-teacher")
    course = await make_course(teacher, "Event-Driven Django")
    learner = await database_sync_to_async(UserFactory)(username="lee", first_name="Lee")
    classmate = await database_sync_to_async(UserFactory)(username="classmate")

    sockets = {
        name: await stream_socket(user)
        for name, user in [
            ("learner", learner),
            ("classmate", classmate),
            ("teacher", teacher),
            ("other_teacher", other_teacher),
        ]
    }
    enrollment = await enroll(learner, course)

    for name in ("learner", "teacher"):
        event = await next_event(sockets[name])
        assert event["type"] == "training.enrollment.created.v1"
        assert event["data"]["enrollment_id"] == enrollment.pk
        assert event["data"]["course_title"] == "Event-Driven Django"
        assert event["data"]["learner_name"] == "Lee"
        assert event["data"]["enrolled_count"] == 1
    for name in ("classmate", "other_teacher"):
        assert await sockets[name].receive_nothing(timeout=0.3)
    for communicator in sockets.values():
        await communicator.disconnect()


async def test_a_learner_resuming_gets_the_progress_they_missed():
    teacher = await make_instructor("teacher")
    course = await make_course(teacher, "Resumable")
    learner = await database_sync_to_async(UserFactory)(username="lee")
    enrollment = await enroll(learner, course)
    seen = await database_sync_to_async(
        lambda: Event.objects.get(type="training.enrollment.created.v1").id
    )()

    lesson = await database_sync_to_async(lambda: course.lessons.first())()
    await database_sync_to_async(services.lesson_complete)(enrollment=enrollment, lesson=lesson)

    resumed = await stream_socket(learner, since=seen)
    event = await next_event(resumed)
    assert event["type"] == "training.lesson.completed.v1"
    assert (event["data"]["completed_lessons"], event["data"]["total_lessons"]) == (1, 2)
    await resumed.disconnect()
