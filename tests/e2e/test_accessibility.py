"""Every page, in every role, at desktop and phone widths: axe-core finds no serious or
critical violation, every form control has a label, nothing scrolls sideways at 320 px, and the
controls are big enough to tap."""

from pprint import pformat

import pytest
from playwright.sync_api import expect

from support.services import message_post, ticket_create
from tests.e2e.accessibility import (
    DESKTOP,
    PHONE,
    axe_violations,
    overflow,
    small_tap_targets,
    unlabelled_controls,
)
from tests.e2e.conftest import user
from training.models import Course
from training.services import enrollment_create, lesson_complete

# Each role's pages; {ticket}, {course} and {lesson} are filled in from the data below.
PAGES = {
    None: ["/", "/accounts/login/"],
    "customer": ["/", "/tickets/", "/tickets/new/", "/tickets/{ticket}/"],
    "agent": ["/agent/queue/", "/agent/queue/?view=all", "/agent/tickets/{ticket}/"],
    "learner": [
        "/courses/",
        "/courses/{course}/",
        "/courses/{course}/lessons/{lesson}/",
        "/learning/",
    ],
    "instructor": ["/instructor/", "/courses/{course}/"],
    "admin": ["/events/health/", "/events/chains/"],
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture
def lived_in(demo):
    """Data that fills every part of the pages: a breached ticket with a reply and a note, an
    enrollment with a completed lesson and the notifications it sets off."""
    customer, agent = user("customer"), user("agent")
    ticket = ticket_create(
        customer=customer,
        subject="Checkout outage: the payment page is down for every customer since noon",
        body="Every card is declined.\nOrder 1042 and 1043.",
    )
    message_post(ticket=ticket, author=agent, body="Escalated to on-call.", internal=True)
    message_post(ticket=ticket, author=agent, body="We are on it.")
    ticket_create(customer=customer, subject="Where can I change my avatar?", body="Thanks")
    course = Course.objects.filter(instructor__username="instructor").order_by("pk").first()
    lesson = course.lessons.order_by("position").first()
    lesson_complete(
        enrollment=enrollment_create(learner=user("learner"), course=course), lesson=lesson
    )
    return {"ticket": ticket.pk, "course": course.pk, "lesson": lesson.pk}


def visit(page, path: str) -> None:
    page.goto(path)
    # A live page is checked as it is used: connected, its status announced.
    status = page.locator("[data-stream-status]").first
    if status.count():
        expect(status).to_have_attribute("data-stream-status", "live")


@pytest.mark.parametrize("role", PAGES, ids=[str(role) for role in PAGES])
def test_every_page_is_accessible_at_desktop_and_phone_widths(
    browser, stack, login, lived_in, role
):
    if role is None:
        context = browser.new_context(base_url=stack.urls["web"])
        page = context.new_page()
    else:
        page = login(role).page
    problems = {}
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        for template in PAGES[role]:
            path = template.format(**lived_in)
            visit(page, path)
            found = axe_violations(page) + unlabelled_controls(page)
            if viewport == "phone":
                found += overflow(page) + small_tap_targets(page)
            if found:
                problems[f"{path} ({viewport})"] = found
    if role is None:
        context.close()
    assert not problems, pformat(problems, width=120)
