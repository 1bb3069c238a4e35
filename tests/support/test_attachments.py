"""Files that came with messages: listed under each message, downloaded only by its readers.

A download is always an attachment, never a page of the site: its type is the declared one
only when a browser cannot run it, and the response forbids sniffing and sandboxes it. Anyone
who may not read the message gets the same 404 as for an id that never existed.
"""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from support import services
from support.models import Attachment, Message
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 the invoice"

# Session, user, the user's groups and the newest event they may see (live page), the check
# that sends agents to their own page, the ticket, the agent check that decides whether
# internal notes are shown, the menu's two role checks, the messages with their authors, and
# their attachments: one query for all of them, however many messages there are.
CUSTOMER_TICKET_QUERIES = 11
# Session, user, the agent check, the user's groups and the newest event they may see (live
# page), the ticket with its customer and assignee, the agent check of the message list, the
# menu's two role checks, the messages with their authors, and their attachments.
AGENT_TICKET_QUERIES = 11


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Files go to a directory of this test's own, through the default storage."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def attach(message: Message, filename: str, content_type: str, data: bytes) -> Attachment:
    stored = default_storage.save(f"attachments/test/{filename}", ContentFile(data))
    return Attachment.objects.create(
        message=message,
        file=stored,
        filename=filename,
        content_type=content_type,
        size=len(data),
    )


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def download_url(attachment: Attachment) -> str:
    return reverse("support:attachment-download", args=[attachment.pk])


@pytest.fixture
def ticket(customer):
    return services.ticket_create(customer=customer, subject="Invoice is wrong", body="See PDF.")


@pytest.fixture
def invoice(ticket, customer):
    message = services.message_post(ticket=ticket, author=customer, body="Here it is.")
    return attach(message, "invoice.pdf", "application/pdf", PDF)


@pytest.fixture
def note_file(ticket, agent):
    note = services.message_post(ticket=ticket, author=agent, body="Ledger", internal=True)
    return attach(note, "ledger.csv", "text/csv", b"account,balance\n")


def test_the_customer_downloads_a_file_of_their_ticket_as_an_attachment(customer, invoice):
    response = logged_in(customer).get(download_url(invoice))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"].split("; ")
    assert "private" in response["Cache-Control"]


def test_an_agent_downloads_every_file_internal_notes_included(agent, invoice, note_file):
    client = logged_in(agent)
    for attachment, content in [(invoice, PDF), (note_file, b"account,balance\n")]:
        response = client.get(download_url(attachment))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == content


def test_whoever_may_not_read_the_message_gets_the_answer_of_a_missing_file(
    customer, invoice, note_file
):
    never_existed = reverse("support:attachment-download", args=[invoice.pk + note_file.pk])
    stranger = logged_in(UserFactory(username="stranger"))
    own_customer = logged_in(customer)

    missing = stranger.get(never_existed)
    assert missing.status_code == 404
    for client, attachment in [(stranger, invoice), (own_customer, note_file)]:
        refused = client.get(download_url(attachment))
        assert refused.status_code == 404
        assert refused.content == missing.content
        assert "Content-Disposition" not in refused


def test_anonymous_visitors_are_sent_to_log_in(invoice):
    response = Client().get(download_url(invoice))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "declared, served",
    [
        ("image/png", "image/png"),
        ("IMAGE/JPEG", "image/jpeg"),
        ("application/pdf", "application/pdf"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("text/html", "application/octet-stream"),
        ("text/html; charset=utf-8", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/javascript", "application/octet-stream"),
        ("application/x-msdownload", "application/octet-stream"),
        ("", "application/octet-stream"),
    ],
)
def test_only_types_a_browser_cannot_run_keep_their_content_type(
    customer, ticket, declared, served
):
    message = services.message_post(ticket=ticket, author=customer, body="Look")
    attachment = attach(message, "page.html", declared, b"<script>alert(1)</script>")

    response = logged_in(customer).get(download_url(attachment))

    assert response["Content-Type"] == served
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "filename, disposition",
    [
        ('say "hi".txt', r'attachment; filename="say \"hi\".txt"'),
        ("Résumé.pdf", "attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf"),
        (
            "a\r\nSet-Cookie: x=1.txt",
            "attachment; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x%3D1.txt",
        ),
    ],
)
def test_the_filename_is_encoded_so_it_cannot_break_the_header(
    customer, ticket, filename, disposition
):
    message = services.message_post(ticket=ticket, author=customer, body="Look")
    attachment = attach(message, "stored.bin", "text/plain", b"hello")
    attachment.filename = filename
    attachment.save()

    response = logged_in(customer).get(download_url(attachment))

    assert response["Content-Disposition"] == disposition


def test_a_file_missing_from_storage_is_a_404_not_an_error(customer, invoice):
    default_storage.delete(invoice.file.name)
    assert logged_in(customer).get(download_url(invoice)).status_code == 404


def attachment_list(page: str, message: Message) -> list[str]:
    """The attachments under one message, each as its text reads: name, type and size."""
    article = re.search(
        rf'<article[^>]*data-message-id="{message.pk}".*?</article>', page, re.DOTALL
    )
    items = re.findall(r"<li>(.*?)</li>", article.group(0), re.DOTALL) if article else []
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_files_are_listed_under_their_message_on_the_customers_page(customer, ticket, invoice):
    photo = attach(invoice.message, "screen.png", "image/png", b"\x89PNG" + b"0" * 2044)

    page = logged_in(customer).get(ticket.get_absolute_url()).content.decode()

    assert attachment_list(page, invoice.message) == [
        "invoice.pdf application/pdf, 20 bytes",
        "screen.png image/png, 2.0 KB",
    ]
    assert f'href="{download_url(invoice)}"' in page
    assert f'href="{download_url(photo)}"' in page


def test_the_agent_sees_every_messages_files_and_the_customer_not_those_of_notes(
    agent, customer, ticket, invoice, note_file
):
    agent_page = logged_in(agent).get(ticket.get_agent_url()).content.decode()
    customer_page = logged_in(customer).get(ticket.get_absolute_url()).content.decode()

    assert attachment_list(agent_page, invoice.message) == ["invoice.pdf application/pdf, 20 bytes"]
    assert attachment_list(agent_page, note_file.message) == ["ledger.csv text/csv, 16 bytes"]
    assert "ledger.csv" not in customer_page
    assert download_url(note_file) not in customer_page


def test_a_message_without_files_shows_no_empty_list(customer, ticket):
    services.message_post(ticket=ticket, author=customer, body="No files here")
    page = logged_in(customer).get(ticket.get_absolute_url()).content.decode()
    assert "data-attachments" not in page


@pytest.fixture(params=[1, 20], ids=lambda rows: f"{rows} messages")
def conversation(request, ticket, customer, agent) -> int:
    """A conversation of 1 or 20 messages, each with two files."""
    for number in range(request.param):
        author = customer if number % 2 else agent
        message = services.message_post(ticket=ticket, author=author, body=f"Message {number}")
        attach(message, f"log-{number}.txt", "text/plain", b"line\n" * number)
        attach(message, f"shot-{number}.png", "image/png", b"\x89PNG")
    return request.param


def test_the_customers_ticket_page_reads_files_in_one_query(
    client, customer, ticket, conversation, django_assert_num_queries
):
    client.force_login(customer)
    with django_assert_num_queries(CUSTOMER_TICKET_QUERIES):
        page = client.get(ticket.get_absolute_url()).content.decode()
    assert page.count("<li><a href=") == 2 * conversation


def test_the_agents_ticket_page_reads_files_in_one_query(
    client, agent, ticket, conversation, django_assert_num_queries
):
    client.force_login(agent)
    with django_assert_num_queries(AGENT_TICKET_QUERIES):
        page = client.get(ticket.get_agent_url()).content.decode()
    assert page.count("<li><a href=") == 2 * conversation
