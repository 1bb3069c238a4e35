"""Reading the analytics the pipeline recorded: the funnel of a course and the chart series."""

from datetime import date, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .models import Activity, Course, DailyCourseStats

CHART_DAYS = 14


def course_funnels(course_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per course, distinct learners who enrolled, completed a first lesson, completed it all."""
    Kind = Activity.Kind
    rows = (
        Activity.objects.filter(course_id__in=course_ids)
        .values("course_id")
        .annotate(
            enrolled=Count("learner", filter=Q(kind=Kind.ENROLLED), distinct=True),
            started=Count("learner", filter=Q(kind=Kind.LESSON_COMPLETED), distinct=True),
            completed=Count("learner", filter=Q(kind=Kind.COURSE_COMPLETED), distinct=True),
        )
    )
    funnels = {pk: {"enrolled": 0, "started": 0, "completed": 0} for pk in course_ids}
    for row in rows:
        funnels[row["course_id"]] = {k: row[k] for k in ("enrolled", "started", "completed")}
    return funnels


def chart_days(today: date | None = None, days: int = CHART_DAYS) -> list[date]:
    today = today or timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def instructor_charts(instructor, today: date | None = None) -> dict:
    """The data behind the instructor dashboard's charts, as JSON for its script.

    Per course rather than summed, so that a live update of one course replaces its numbers.
    """
    days = chart_days(today)
    courses = list(Course.objects.filter(instructor=instructor).values("pk", "title"))
    ids = [c["pk"] for c in courses]
    per_day: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for stats in DailyCourseStats.objects.filter(course_id__in=ids, day__gte=days[0]):
        per_day[stats.course_id][stats.day.isoformat()] = stats.enrollments
    funnels = course_funnels(ids)
    return {
        "days": [d.isoformat() for d in days],
        "courses": {
            str(c["pk"]): {
                "title": c["title"],
                "enrollments": per_day[c["pk"]],
                "funnel": funnels[c["pk"]],
            }
            for c in courses
        },
    }
