"""REST representations of courses and enrollments, and the input of the training API."""

from rest_framework import serializers

from eventplatform.users import display_name

from .models import Course, Enrollment, Lesson


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
    is_full = serializers.SerializerMethodField()
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

    def get_is_full(self, course: Course) -> bool:
        return course.capacity is not None and course.enrolled_count >= course.capacity


class EnrollmentSerializer(serializers.ModelSerializer):
    course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.all(), help_text="The course to enroll in."
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
        queryset=Lesson.objects.all(), help_text="The lesson to mark complete."
    )
