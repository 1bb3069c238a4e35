"""The training REST API: courses to browse, enrollments to make and progress through.

Views validate input and call a service; a service's ValidationError becomes a 400 naming
the field, so refusals are never 500s and never leave a partial write.
"""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from . import services
from .models import Course, Enrollment
from .serializers import CourseSerializer, EnrollmentSerializer, LessonProgressInputSerializer


def integer_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    # Ids are 64-bit: a longer number would overflow the query, not find nothing.
    if number is None or not 0 <= number < 2**63:
        raise ValidationError({name: ["Must be a whole number (an id)."]})
    return number


@extend_schema_view(
    list=extend_schema(
        summary="List courses",
        description="Published courses, and the unpublished ones you teach.",
        parameters=[
            OpenApiParameter("instructor", int, description="Only this instructor's courses."),
            OpenApiParameter("search", str, description="Words in the title."),
        ],
    ),
    retrieve=extend_schema(summary="One course with its lessons in order"),
)
class CourseViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CourseSerializer

    def get_queryset(self):
        courses = (
            Course.objects.visible_to(self.request.user)
            .with_counts()
            .select_related("instructor")
            .prefetch_related("lessons")
        )
        instructor = integer_param(self.request, "instructor")
        if instructor is not None:
            courses = courses.filter(instructor_id=instructor)
        if search := self.request.query_params.get("search", "").strip():
            courses = courses.filter(title__icontains=search)
        return courses


class IsTheLearner(permissions.BasePermission):
    """Only the enrolled learner changes an enrollment; its instructor may only read it."""

    message = "Only the enrolled learner can do this."

    def has_object_permission(self, request, view, obj: Enrollment) -> bool:
        return obj.learner_id == request.user.pk


@extend_schema_view(
    list=extend_schema(
        summary="List enrollments",
        description="Learners see their own enrollments; instructors also see those in their "
        "courses.",
        parameters=[
            OpenApiParameter("status", str, enum=Enrollment.Status.values),
            OpenApiParameter("course", int, description="Only enrollments in this course."),
        ],
    ),
    retrieve=extend_schema(summary="One enrollment with its progress"),
    create=extend_schema(
        summary="Enroll in a course",
        description="Refused with 400 naming `course` when the course is unpublished, full, "
        "or you are already enrolled.",
    ),
)
class EnrollmentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EnrollmentSerializer

    def get_permissions(self):
        if self.action in ("progress", "cancel"):
            return [permissions.IsAuthenticated(), IsTheLearner()]
        return super().get_permissions()

    def get_queryset(self):
        user = self.request.user
        enrollments = (
            Enrollment.objects.filter(Q(learner=user) | Q(course__instructor=user))
            .select_related("learner")
            .with_progress()
        )
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in Enrollment.Status.values:
                raise ValidationError(
                    {"status": [f"Must be one of: {', '.join(Enrollment.Status.values)}."]}
                )
            enrollments = enrollments.filter(status=wanted)
        course = integer_param(self.request, "course")
        if course is not None:
            enrollments = enrollments.filter(course_id=course)
        return enrollments

    def perform_create(self, serializer: EnrollmentSerializer) -> None:
        serializer.instance = services.enroll(
            learner=self.request.user, course=serializer.validated_data["course"]
        )

    @extend_schema(
        summary="Mark a lesson complete",
        description="Completing the last lesson completes the enrollment. Marking a lesson "
        "twice changes nothing. Only the enrolled learner may do this.",
        request=LessonProgressInputSerializer,
        responses=EnrollmentSerializer,
    )
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None) -> Response:
        enrollment = self.get_object()
        given = LessonProgressInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.complete_lesson(enrollment=enrollment, lesson=given.validated_data["lesson"])
        enrollment.refresh_from_db()
        return Response(self.get_serializer(enrollment).data)

    @extend_schema(
        summary="Leave a course",
        description="Frees the seat; only an active enrollment can be cancelled.",
        request=None,
        responses=EnrollmentSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None) -> Response:
        enrollment = self.get_object()
        enrollment = services.cancel_enrollment(enrollment=enrollment)
        return Response(self.get_serializer(enrollment).data, status=status.HTTP_200_OK)
