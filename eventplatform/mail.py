"""Email from templates: plain text with an HTML alternative, links on the public site."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def site_url(path: str) -> str:
    """An absolute link for emails and notifications (``SITE_URL`` + path)."""
    return settings.SITE_URL + path


def send_templated(
    *, to: str, subject: str, template: str, context: dict, event_id: str = "", kind: str = ""
) -> None:
    """Send ``<template>.txt`` with ``<template>.html`` as its alternative.

    With ``event_id``, the Message-ID is derived from the event, so a delivery retried after
    the mail left is recognisable as the same message.
    """
    context = {**context, "site_url": settings.SITE_URL}
    headers = {}
    if event_id:
        domain = urlsplit(settings.SITE_URL).hostname or "localhost"
        headers["Message-ID"] = f"<{event_id}.{kind or 'mail'}@{domain}>"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()
