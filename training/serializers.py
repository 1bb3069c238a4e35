"""REST representations of courses and enrollments, and the input of the training API.

Input is read strictly: a value that is not what the field declares is refused with a 400
naming the field, never coerced into something else (1.5 is not course 1).
"""

import re

from rest_framework import serializers

from eventplatform.users import display_name

from .models import Course, Enrollment, Lesson

DIGITS = re.compile(r"[0-9]+")
LARGEST_ID = 2**63 - 1  # ids are 64-bit: a larger number would overflow the query


class IdField(serializers.IntegerField):
    """An id: a JSON integer, or the digits of one in text (forms and query strings are text).

    Unlike DRF's IntegerField, nothing is rounded or trimmed: 1.5, "1.0", " 1" and true are
    refused, as is a number past the ids the database holds.
    """

    default_error_messages = {"invalid": "Must be a whole number (an id)."}

    def to_internal_value(self, data) -> int:
        if isinstance(data, str) and DIGITS.fullmatch(data):
            data = int(data)
        if type(data) is not int or not 0 <= data <= LARGEST_ID:  # bool is a subclass of int
            self.fail("invalid")
        return data


class VisibleCourseField(serializers.PrimaryKeyRelatedField):
    """A course the requesting user may see. Someone else's unpublished course is answered as
    if it did not exist, so the answer does not tell which ids are unpublished courses."""

    def get_queryset(self):
        return Course.objects.visible_to(self.context["request"].user)


class LessonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lesson
        fields = ["id", "position", "title"]


class CourseSerializer(serializers.ModelSerializer):
    instructor_name = serializers.SerializerMethodField()
    lesson_count = serializers.IntegerField(read_only=True)
    enrolled_count = serializers.IntegerField(
        read_only=True, help_text="Learners holding a seat (active or completed)."
    )
    is_full = serializers.BooleanField(read_only=True)
    lessons = LessonSerializer(many=True, read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "title",
            "description",
            "instructor",
            "instructor_name",
            "published",
            "capacity",
            "lesson_count",
            "enrolled_count",
            "is_full",
            "lessons",
        ]
        read_only_fields = fields

    def get_instructor_name(self, course: Course) -> str:
        return display_name(course.instructor)


class EnrollmentSerializer(serializers.ModelSerializer):
    course = VisibleCourseField(
        queryset=Course.objects.all(),
        pk_field=IdField(),
        error_messages={"does_not_exist": "There is no such course."},
        help_text="The course to enroll in.",
    )
    course_title = serializers.CharField(source="course.title", read_only=True)
    learner_name = serializers.SerializerMethodField()
    completed_lessons = serializers.SerializerMethodField()
    total_lessons = serializers.SerializerMethodField()
    percent_complete = serializers.SerializerMethodField()
    completed_lesson_ids = serializers.SerializerMethodField()
    next_lesson = serializers.SerializerMethodField()

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "course",
            "course_title",
            "learner",
            "learner_name",
            "status",
            "enrolled_at",
            "completed_at",
            "cancelled_at",
            "completed_lessons",
            "total_lessons",
            "percent_complete",
            "completed_lesson_ids",
            "next_lesson",
        ]
        read_only_fields = [f for f in fields if f != "course"]

    def get_learner_name(self, enrollment: Enrollment) -> str:
        return display_name(enrollment.learner)

    def get_completed_lessons(self, enrollment: Enrollment) -> int:
        return enrollment.progress_counts()[0]

    def get_total_lessons(self, enrollment: Enrollment) -> int:
        return enrollment.progress_counts()[1]

    def get_percent_complete(self, enrollment: Enrollment) -> int:
        return enrollment.percent_complete()

    def get_completed_lesson_ids(self, enrollment: Enrollment) -> list[int]:
        return sorted(enrollment.completed_lesson_ids())

    def get_next_lesson(self, enrollment: Enrollment) -> int | None:
        if enrollment.status != Enrollment.Status.ACTIVE:
            return None
        lesson = enrollment.next_lesson()
        return lesson.pk if lesson else None


class LessonProgressInputSerializer(serializers.Serializer):
    lesson = serializers.PrimaryKeyRelatedField(
        queryset=Lesson.objects.all(),
        pk_field=IdField(),
        error_messages={"does_not_exist": "There is no such lesson."},
        help_text="The lesson to mark complete.",
    )


class CourseFilterSerializer(serializers.Serializer):
    """The query parameters of the course list."""

    instructor = IdField(required=False, help_text="Only this instructor's courses.")
    search = serializers.CharField(
        required=False, allow_blank=True, help_text="Words in the title."
    )


class EnrollmentFilterSerializer(serializers.Serializer):
    """The query parameters of the enrollment list."""

    status = serializers.ChoiceField(choices=Enrollment.Status.choices, required=False)
    course = IdField(required=False, help_text="Only enrollments in this course.")
