"""Hostile text, through every way text gets in and every way it gets out.

Whatever a customer, an agent or an operator types is stored as they typed it, or refused
with a 400 naming the field; it is shown as text on every page (escaped HTML), in email (the
HTML part escaped, the text part as typed), in Slack (its control sequences escaped, so no
mention or link can be forged) and on the live feed (JSON carries it; the pages insert it as
text, never as markup).
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.html import escape
from playwright.sync_api import sync_playwright

from eventplatform.events.models import Event
from support import services as support
from support.models import Message, Ticket
from training.models import Course

pytestmark = pytest.mark.django_db

# Text that must reach every reader as the very characters typed.
HOSTILE = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "template": "{{7*7}} {% now 'Y' %}",
    "slack-mention": "<!channel> please look",
    "slack-link": "<https://evil.example|Reset your password>",
    "bidi-and-zero-width": "invoice\u202egnp.exe\u200b\u2066x\u2069",
}
# Text no field stores: refused with a 400 that names the field, and nothing written.
NUL_BYTE = "before\x00after"
LONG = "x" * 1_000_000

# Debian's Chromium, as the browser tests use; pages are served to it from this process.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
ORIGIN = "http://platform.test"


def hostile() -> list:
    return [pytest.param(text, id=name) for name, text in HOSTILE.items()]


def shown_as_text(text: str, html: str) -> None:
    """``text`` appears in ``html`` only escaped: markup in it is never markup on the page."""
    assert escape(text) in html
    if escape(text) != text:
        assert text not in html


# --- in: the API and the forms store text as sent, or refuse it ---------------------------

TEXT_FIELDS = {
    "ticket subject": ("/api/v1/tickets/", "subject", {"body": "Details."}),
    "ticket body": ("/api/v1/tickets/", "body", {"subject": "Details"}),
    "message": ("/api/v1/tickets/{customer_ticket}/messages/", "body", {}),
    "internal note": ("/api/v1/tickets/{customer_ticket}/messages/", "body", {"internal": True}),
}


def post_text(world, field: str, text: str):
    path, name, rest = TEXT_FIELDS[field]
    role = "agent" if field == "internal note" else "customer"
    return world.api_client(role).post(
        path.format(**world.ids), {name: text, **rest}, format="json"
    )


class TestIn:
    @pytest.mark.parametrize("field", TEXT_FIELDS)
    @pytest.mark.parametrize("text", hostile())
    def test_the_api_stores_text_as_sent(self, world, field, text):
        response = post_text(world, field, text)
        assert response.status_code == 201, response.content[:300]
        _, name, _ = TEXT_FIELDS[field]
        assert response.json()[name] == text
        model = Ticket if field.startswith("ticket") else Message
        assert model.objects.filter(**{name: text}).exists()

    @pytest.mark.parametrize("field", TEXT_FIELDS)
    @pytest.mark.parametrize("text", [NUL_BYTE, LONG], ids=["nul-byte", "a-million-characters"])
    def test_the_api_refuses_what_no_field_stores(self, world, field, text):
        before = (Ticket.objects.count(), Message.objects.count())
        response = post_text(world, field, text)
        assert response.status_code == 400
        assert TEXT_FIELDS[field][1] in response.json()
        assert (Ticket.objects.count(), Message.objects.count()) == before

    @pytest.mark.parametrize("text", hostile())
    def test_the_ticket_form_stores_text_as_typed(self, world, text):
        response = world.browser("customer").post("/tickets/new/", {"subject": text, "body": text})
        assert response.status_code == 302
        assert Ticket.objects.filter(subject=text, body=text).exists()

    @pytest.mark.parametrize("text", [NUL_BYTE, LONG], ids=["nul-byte", "a-million-characters"])
    def test_the_ticket_form_refuses_what_no_field_stores(self, world, text):
        before = Ticket.objects.count()
        response = world.browser("customer").post("/tickets/new/", {"subject": "Hi", "body": text})
        assert response.status_code == 200  # the form again, with its error
        assert response.context["form"].errors["body"]
        assert Ticket.objects.count() == before

    @pytest.mark.parametrize("text", hostile())
    def test_course_search_looks_for_the_words_as_text(self, world, text):
        response = world.api_client("learner").get("/api/v1/courses/", {"search": text})
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_course_search_refuses_a_nul_byte(self, world):
        response = world.api_client("learner").get("/api/v1/courses/", {"search": NUL_BYTE})
        assert response.status_code == 400
        assert "search" in response.json()

    @pytest.mark.parametrize("text", hostile())
    def test_a_course_titled_with_it_in_the_admin_is_found_and_shown_as_text(self, world, text):
        response = world.browser("superuser").post(
            "/admin/training/course/add/",
            {
                "title": text,
                "description": text,
                "instructor": world.users["instructor"].pk,
                "published": "on",
                "created_at_0": "2026-01-05",
                "created_at_1": "09:00:00",
                "lessons-TOTAL_FORMS": "0",
                "lessons-INITIAL_FORMS": "0",
            },
        )
        assert response.status_code == 302
        course = Course.objects.get(title=text, description=text)
        found = world.api_client("learner").get("/api/v1/courses/", {"search": text}).json()
        assert [c["id"] for c in found["results"]] == [course.pk]
        for path in ("/courses/", f"/courses/{course.pk}/", "/admin/training/course/"):
            shown_as_text(text, world.browser("superuser").get(path).content.decode())


# --- out: pages, email, Slack and the live feed show it as text ----------------------------


class TestOut:
    @pytest.mark.parametrize("text", hostile())
    def test_pages_show_it_as_text(self, world, text):
        customer, agent = world.users["customer"], world.users["agent"]
        ticket = support.ticket_create(customer=customer, subject=text, body=f"Body {text}")
        support.message_post(ticket=ticket, author=agent, body=f"Reply {text}")
        support.message_post(ticket=ticket, author=agent, body=f"Note {text}", internal=True)
        pages = {
            "customer": ["/tickets/", f"/tickets/{ticket.pk}/"],
            "agent": ["/agent/queue/"],
            "superuser": ["/admin/support/ticket/", f"/admin/support/ticket/{ticket.pk}/change/"],
        }
        for role, paths in pages.items():
            for path in paths:
                shown_as_text(text, world.browser(role).get(path).content.decode())
        # The ticket as the agent reads it: the subject, the body, the reply and the note.
        agent_page = world.browser("agent").get(f"/agent/tickets/{ticket.pk}/").content.decode()
        for written in (text, f"Body {text}", f"Reply {text}", f"Note {text}"):
            shown_as_text(written, agent_page)

    @pytest.mark.parametrize("text", hostile())
    def test_email_escapes_it_in_html_and_keeps_it_in_text(
        self, world, text, smtp_server, task_queue, django_capture_on_commit_callbacks
    ):
        customer, agent = world.users["customer"], world.users["agent"]
        with django_capture_on_commit_callbacks(execute=True):
            ticket = support.ticket_create(customer=customer, subject=text, body=text)
            support.message_post(ticket=ticket, author=agent, body=text)
        task_queue.run()

        assert len(smtp_server.messages) == 2, "an acknowledgement and the agent's reply"
        for mail in smtp_server.messages:
            assert mail["Subject"].endswith(text)
            assert text in mail.get_body(preferencelist=("plain",)).get_content()
            shown_as_text(text, mail.get_body(preferencelist=("html",)).get_content())

    @pytest.mark.parametrize("text", hostile())
    def test_slack_shows_it_as_text_never_as_a_mention_or_a_link(
        self, world, text, settings, http_receiver, task_queue, django_capture_on_commit_callbacks
    ):
        settings.SLACK_WEBHOOK_URL = http_receiver.url
        with django_capture_on_commit_callbacks(execute=True):
            support.ticket_create(customer=world.users["customer"], subject=text, body=text)
        task_queue.run()

        (request,) = http_receiver.requests
        sent = json.dumps(request.json(), ensure_ascii=False)
        slack_text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert json.dumps(slack_text, ensure_ascii=False)[1:-1] in sent
        for control in ("<!", "<https://evil.example", "<script", "<img"):
            assert control not in sent

    @pytest.mark.parametrize("text", hostile())
    def test_the_live_feed_carries_it_as_data(self, world, text):
        support.message_post(
            ticket=Ticket.objects.get(pk=world.ids["customer_ticket"]),
            author=world.users["agent"],
            body=text,
        )
        event = Event.objects.filter(type="support.ticket.message_posted.v1").latest("position")
        assert event.payload["body"] == text

    def test_a_live_page_inserts_what_an_event_carries_as_text(self, world):
        """In a real browser: an agent's ticket page receives a note whose author and body
        are hostile, over a stream the test plays, and shows both as text."""
        ticket_id = world.ids["customer_ticket"]
        page_html = world.browser("agent").get(f"/agent/tickets/{ticket_id}/").content
        body = " ".join(HOSTILE.values())
        note = {
            "specversion": "1.0",
            "id": "7d1c2f4e-0000-4000-8000-000000000001",
            "source": "/support",
            "type": "support.ticket.note_added.v1",
            "time": "2026-11-28T09:00:00Z",
            "position": 1_000_000,
            "data": {
                "ticket_id": ticket_id,
                "message_id": 1_000_000,
                "author_id": world.users["agent"].pk,
                "author_name": HOSTILE["attribute"],
                "body": body,
                "created_at": "2026-11-28T09:00:00Z",
            },
        }

        def serve(route) -> None:
            path = urlsplit(route.request.url).path
            if path.startswith(settings.STATIC_URL):
                found = finders.find(path.removeprefix(settings.STATIC_URL))
                route.fulfill(path=found) if found else route.fulfill(status=404)
            else:
                route.fulfill(body=page_html, content_type="text/html; charset=utf-8")

        dialogs = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.route(f"{ORIGIN}/**", serve)
            page.route_web_socket(re.compile(r"/ws/stream/"), lambda ws: ws.send(json.dumps(note)))
            page.goto(f"{ORIGIN}/agent/tickets/{ticket_id}/")
            shown = page.locator('[data-message-id="1000000"]')
            shown.wait_for(timeout=5000)
            texts = (shown.locator("strong").text_content(), shown.locator(".pre").text_content())
            injected = page.locator('img[src="x"], [data-messages] script').count()
            browser.close()
        assert texts == (HOSTILE["attribute"], body)
        assert injected == 0
        assert dialogs == []


# Ways of turning a string into markup, which the live pages never use on event data.
MARKUP_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "srcdoc")


def test_the_live_pages_scripts_insert_text_as_text():
    for script in Path(settings.BASE_DIR, "static", "js").glob("*.js"):
        source = script.read_text()
        for sink in MARKUP_SINKS:
            assert sink not in source, f"{script.name} uses {sink}"
