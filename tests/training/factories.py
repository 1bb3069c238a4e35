"""Courses and lessons for the training tests."""

import factory

from training.models import Course, Lesson


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    description = "Learn by doing."
    published = True


def course_with_lessons(instructor, *titles: str, **fields) -> Course:
    course = CourseFactory(instructor=instructor, **fields)
    for position, title in enumerate(titles, start=1):
        Lesson.objects.create(course=course, position=position, title=title, body=f"About {title}")
    return course
