"""Training pages and the training part of the REST API (``/api/v1/courses/``, ...)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import api, views

app_name = "training"

# A SimpleRouter: no API root view of its own to shadow the project's at /api/v1/.
router = SimpleRouter()
router.register("courses", api.CourseViewSet, basename="course")
router.register("enrollments", api.EnrollmentViewSet, basename="enrollment")

urlpatterns = [
    path("courses/", views.catalog, name="catalog"),
    path("courses/<int:pk>/", views.course_detail, name="course"),
    path("courses/<int:pk>/enroll/", views.enroll, name="enroll"),
    path("courses/<int:pk>/leave/", views.cancel_enrollment, name="leave"),
    path("courses/<int:course_pk>/lessons/<int:pk>/", views.lesson_detail, name="lesson"),
    path(
        "courses/<int:course_pk>/lessons/<int:pk>/complete/",
        views.complete_lesson,
        name="complete-lesson",
    ),
    path("learning/", views.dashboard, name="dashboard"),
    path("instructor/", views.instructor_dashboard, name="instructor-dashboard"),
    path("instructor/preferences/", views.instructor_preferences, name="instructor-preferences"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("api/v1/", include(router.urls)),
]
