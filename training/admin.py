"""Admin: courses with their lessons, enrollments, notifications, and the analytics.

Enrollments are made and ended through the services, which hold the rules (capacity, one
active enrollment, timestamps). What reactions to events write (notifications, analytics),
operators read; they may mark notifications read. Courses, lessons and preferences are
model saves, which emit events like any other write path.
"""

from django import forms
from django.contrib import admin

from eventplatform.events import chain_link

from . import events, services
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


class EnrollmentAdminForm(forms.ModelForm):
    class Meta:
        model = Enrollment
        fields = ["learner", "course", "status"]

    def clean(self) -> dict:
        cleaned = super().clean()
        learner, course = cleaned.get("learner"), cleaned.get("course")
        if self.instance.pk is None and learner and course:
            # The refusals of enrollment_create, shown on the form; the admin saves in the
            # same transaction, which keeps the course locked until then.
            services.enrollment_create_check(learner=learner, course=course)
        return cleaned


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    form = EnrollmentAdminForm
    list_display = ["learner", "course", "status", "enrolled_at", "completed_at"]
    list_filter = ["status", "course"]
    search_fields = ["learner__username", "course__title"]
    readonly_fields = ["enrolled_at", "completed_at", "cancelled_at", "event_chain"]
    list_select_related = ["learner", "course"]
    inlines = [LessonProgressInline]

    @admin.display(description="events")
    def event_chain(self, obj: Enrollment) -> str:
        """Its enrollment's chain: the request, the reactions, and what they published."""
        return chain_link(events.ENROLLMENT_CREATED, "Follow its enrollment", enrollment_id=obj.pk)

    # How an operator ends an active enrollment.
    status_changes = {
        Enrollment.Status.CANCELLED: services.enrollment_cancel,
        Enrollment.Status.COMPLETED: services.enrollment_complete,
    }

    def get_readonly_fields(self, request, obj: Enrollment | None = None) -> list[str]:
        if obj is None:  # a new enrollment starts active
            return [*self.readonly_fields, "status"]
        # An enrollment is one learner in one course; one that ended stays as it ended.
        fixed = [*self.readonly_fields, "learner", "course"]
        return fixed if obj.status == Enrollment.Status.ACTIVE else [*fixed, "status"]

    def has_delete_permission(self, request, obj: Enrollment | None = None) -> bool:
        # Cancel instead: events, notifications and analytics refer to the enrollment.
        return False

    def save_model(self, request, obj: Enrollment, form, change: bool) -> None:
        if not change:
            obj.pk = services.enrollment_create(learner=obj.learner, course=obj.course).pk
        elif "status" in form.changed_data:
            self.status_changes[obj.status](enrollment=obj)
        # The admin goes on with this instance (history, message): make it the saved row.
        obj.refresh_from_db()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Reactions to events write these; operators only read them."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """A notification answers one event (its source): reactions create them, operators may
    mark them read for their recipients."""

    list_display = ["message", "recipient", "role", "created_at", "read_at"]
    list_filter = ["role", "read_at"]
    search_fields = ["message", "recipient__username"]
    actions = ["mark_read"]

    @admin.action(description="Mark the selected notifications read")
    def mark_read(self, request, queryset) -> None:
        for notification in queryset:
            services.notification_mark_read(notification=notification)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email_instructor_updates"]


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
