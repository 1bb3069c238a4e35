"""Notifications to the agents' Slack channel through an incoming webhook."""

from urllib.parse import urlsplit

from django.conf import settings
from slack_sdk.webhook import WebhookClient

from eventplatform.events import Skip, raise_for_answer

from .models import Ticket

PRIORITY_EMOJI = {
    "urgent": ":red_circle:",
    "high": ":large_orange_circle:",
    "normal": ":large_blue_circle:",
    "low": ":white_circle:",
}


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup; customer text must arrive as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ticket_blocks(
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


def post_to_slack(*, text: str, blocks: list[dict]) -> None:
    """Send one message; a refused or failed send raises what the delivery should do about it."""
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
