"""Notifications to the agents' Slack channel through an incoming webhook: one sender."""

from urllib.parse import urlsplit

from django.conf import settings
from slack_sdk.webhook import WebhookClient

from eventplatform.events import Skip, raise_for_answer
from eventplatform.mail import site_url

from .models import Ticket

PRIORITY_EMOJI = {
    "urgent": ":red_circle:",
    "high": ":large_orange_circle:",
    "normal": ":large_blue_circle:",
    "low": ":white_circle:",
}


def escape(text: str) -> str:
    """Slack reads &, < and > as markup (``<!channel>``, ``<url|label>``); these three are all
    its rules escape, and text from users must arrive as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_ticket_notice(
    ticket: Ticket, *, summary: str, heading: str, priority: str, customer_name: str
) -> None:
    """Tell the agents about ``ticket``: ``summary`` is the line a notification shows, the
    blocks show the ticket with a link to its agent page.

    A refused or failed send raises what the delivery should do about it.
    """
    url = site_url(ticket.get_agent_url())
    _post(
        text=escape(summary),
        blocks=_ticket_blocks(
            ticket, heading=heading, priority=priority, customer_name=customer_name, url=url
        ),
    )


def _ticket_blocks(
    ticket: Ticket, *, heading: str, priority: str, customer_name: str, url: str
) -> list[dict]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*<{url}|{ticket.reference}: {escape(ticket.subject)}>*",
            },
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Priority*\n{PRIORITY_EMOJI.get(priority, '')} {priority.title()}",
                },
                {"type": "mrkdwn", "text": f"*Customer*\n{escape(customer_name)}"},
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open ticket"},
                    "url": url,
                    "action_id": "open_ticket",
                }
            ],
        },
    ]


def _post(*, text: str, blocks: list[dict]) -> None:
    url = settings.SLACK_WEBHOOK_URL
    if not url:
        raise Skip("SLACK_WEBHOOK_URL is not set")
    answer = WebhookClient(url, timeout=settings.OUTBOUND_TIMEOUT).send(text=text, blocks=blocks)
    # One mapping of HTTP answers to outcomes for every outbound call: 5xx/408/429 retry
    # (honouring Retry-After), 410 and other 4xx are permanent.
    raise_for_answer(
        answer.status_code,
        answer.headers or {},
        body=answer.body or "",
        # The webhook URL is a secret: the recorded error names the host only.
        target=urlsplit(url).netloc,
    )
