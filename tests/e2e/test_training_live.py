"""Scenario 2: an enrollment reaches the instructor live; the learner's progress moves live."""

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_support_live import wait_live
from training.models import Course


def test_an_enrollment_moves_the_instructor_dashboard_and_progress_moves_for_the_learner(
    login, stack
):
    course = Course.objects.filter(instructor__username="instructor").order_by("pk").first()
    first_lesson = course.lessons.order_by("position").first()

    instructor = login("instructor").page
    instructor.goto("/instructor/")
    wait_live(instructor)
    count = instructor.locator(f'tr[data-course-id="{course.pk}"] [data-field="enrollment-count"]')
    before = int(count.inner_text())
    enrollments_chart = instructor.locator('[data-chart="enrollments-per-day"]')
    chart_before = enrollments_chart.inner_html()

    learner = login("learner").page
    learner.goto("/learning/")
    wait_live(learner)
    browsing = learner.context.new_page()
    browsing.goto(f"/courses/{course.pk}/")
    browsing.locator('[data-action="enroll"]').click()
    expect(browsing.locator('[data-field="enrollment-status"]')).to_have_text("Enrolled")

    expect(count).to_have_text(str(before + 1), timeout=2_000)
    expect(instructor.locator("[data-feed]")).to_contain_text(course.title)
    # The notification is a reaction run by a worker, not the enrollment's own push.
    expect(instructor.locator("[data-notifications]")).to_contain_text(course.title, timeout=10_000)
    expect(enrollments_chart).not_to_have_js_property("innerHTML", chart_before)
    screenshot(instructor, "instructor-dashboard-live")

    card = learner.locator(f'[data-courses] [data-course-id="{course.pk}"]')
    expect(card).to_be_visible(timeout=2_000)
    expect(card.locator('[data-field="progress-text"]')).to_have_text("0%")

    browsing.goto(f"/courses/{course.pk}/lessons/{first_lesson.pk}/")
    browsing.locator('[data-action="complete-lesson"]').click()
    expect(card.locator('[data-field="progress-text"]')).not_to_have_text("0%", timeout=2_000)
    width = card.locator("[data-progress] > span").evaluate("bar => bar.style.width")
    assert width not in ("", "0%")
    screenshot(learner, "learner-dashboard-progress")
