"""The training REST API: courses to browse, enrollments to make and progress through.

Views validate input and call a service; a service's ValidationError becomes a 400 naming
the field, so refusals are never 500s and never leave a partial write.
"""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from eventplatform.idempotency import idempotent_create
from eventplatform.openapi import refused_in_this_state

from . import services
from .models import Course, Enrollment
from .serializers import (
    CourseFilterSerializer,
    CourseSerializer,
    EnrollmentFilterSerializer,
    EnrollmentSerializer,
    LessonProgressInputSerializer,
)


def filters(serializer_class: type[serializers.Serializer], request) -> dict:
    """The request's query parameters as ``serializer_class`` reads them; a 400 naming each
    parameter it refuses (a NUL in text, which PostgreSQL cannot store, is one)."""
    given = serializer_class(data=request.query_params)
    given.is_valid(raise_exception=True)
    return given.validated_data


@extend_schema_view(
    list=extend_schema(
        summary="List courses",
        description="Published courses, and the unpublished ones you teach.",
        parameters=[CourseFilterSerializer],
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
        wanted = filters(CourseFilterSerializer, self.request)
        if "instructor" in wanted:
            courses = courses.filter(instructor_id=wanted["instructor"])
        if search := wanted.get("search"):
            courses = courses.filter(title__icontains=search)
        return courses


class IsTheLearner(permissions.BasePermission):
    """Only the enrolled learner changes an enrollment; its instructor may only read it."""

    message = "Only the enrolled learner can do this."

    def has_object_permission(self, request, view, obj: Enrollment) -> bool:
        return obj.learner_id == request.user.pk


# Enrollments are read per user: without a signed-in request the schema cannot tell the id's type.
ENROLLMENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="List enrollments",
        description="Learners see their own enrollments; instructors also see those in their "
        "courses.",
        parameters=[EnrollmentFilterSerializer],
    ),
    retrieve=extend_schema(summary="One enrollment with its progress", parameters=[ENROLLMENT_ID]),
    create=extend_schema(
        summary="Enroll in a course",
        description="Refused with 400 naming `course` when the course is unpublished, full, "
        "or you are already enrolled.",
    ),
)
@idempotent_create
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
        wanted = filters(EnrollmentFilterSerializer, self.request)
        if "status" in wanted:
            enrollments = enrollments.filter(status=wanted["status"])
        if "course" in wanted:
            enrollments = enrollments.filter(course_id=wanted["course"])
        return enrollments

    def perform_create(self, serializer: EnrollmentSerializer) -> None:
        serializer.instance = services.enrollment_create(
            learner=self.request.user, course=serializer.validated_data["course"]
        )

    @extend_schema(
        summary="Mark a lesson complete",
        description="Completing the last lesson completes the enrollment. Marking a lesson "
        "twice changes nothing. Only the enrolled learner may do this.",
        request=LessonProgressInputSerializer,
        responses=EnrollmentSerializer,
        parameters=[ENROLLMENT_ID],
    )
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None) -> Response:
        enrollment = self.get_object()
        given = LessonProgressInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.lesson_complete(enrollment=enrollment, lesson=given.validated_data["lesson"])
        enrollment.refresh_from_db()
        return Response(self.get_serializer(enrollment).data)

    @extend_schema(
        summary="Leave a course",
        description="Frees the seat; only an active enrollment can be cancelled.",
        request=None,
        responses={
            200: EnrollmentSerializer,
            400: refused_in_this_state("The enrollment is not active (named `status`)."),
        },
        parameters=[ENROLLMENT_ID],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None) -> Response:
        enrollment = self.get_object()
        enrollment = services.enrollment_cancel(enrollment=enrollment)
        return Response(self.get_serializer(enrollment).data, status=status.HTTP_200_OK)
