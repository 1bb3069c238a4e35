"""Admin: courses with their lessons, enrollments, notifications, and the analytics (read-only).

Edits here go through model saves, so they emit events like any other write path; an
enrollment's status changes through the services, which hold what follows from it.
"""

from django.contrib import admin

from . import services
from .models import (
    Activity,
    Course,
    DailyCourseStats,
    Enrollment,
    Lesson,
    LessonProgress,
    Notification,
    NotificationPreference,
)


class LessonInline(admin.TabularInline):
    model = Lesson
    extra = 1
    fields = ["position", "title", "body"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "instructor", "published", "capacity", "created_at"]
    list_filter = ["published", "instructor"]
    search_fields = ["title", "description"]
    inlines = [LessonInline]


class LessonProgressInline(admin.TabularInline):
    model = LessonProgress
    extra = 0
    fields = ["lesson", "completed_at"]
    readonly_fields = ["lesson", "completed_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["learner", "course", "status", "enrolled_at", "completed_at"]
    list_filter = ["status", "course"]
    search_fields = ["learner__username", "course__title"]
    readonly_fields = ["enrolled_at", "completed_at", "cancelled_at"]
    list_select_related = ["learner", "course"]
    inlines = [LessonProgressInline]

    # How an operator ends an active enrollment.
    status_changes = {
        Enrollment.Status.CANCELLED: services.cancel_enrollment,
        Enrollment.Status.COMPLETED: services.complete_enrollment,
    }

    def get_readonly_fields(self, request, obj: Enrollment | None = None) -> list[str]:
        # A new enrollment starts active, and one that ended stays as it ended.
        if obj is None or obj.status != Enrollment.Status.ACTIVE:
            return [*self.readonly_fields, "status"]
        return self.readonly_fields

    def save_model(self, request, obj: Enrollment, form, change: bool) -> None:
        if "status" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        # Save the other edits as they stand, then end the enrollment through the service.
        end = self.status_changes[obj.status]
        obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        end(enrollment=obj)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["message", "recipient", "role", "created_at", "read_at"]
    list_filter = ["role", "read_at"]
    search_fields = ["message", "recipient__username"]
    readonly_fields = ["source_event_id", "created_at"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email_instructor_updates"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """The analytics pipeline writes these; operators only read them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DailyCourseStats)
class DailyCourseStatsAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "course",
        "enrollments",
        "cancellations",
        "lesson_completions",
        "course_completions",
        "active_learners",
    ]
    list_filter = ["course", "day"]
    date_hierarchy = "day"


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "course", "learner", "event_id"]
    list_filter = ["kind", "course"]
    search_fields = ["event_id", "learner__username"]
