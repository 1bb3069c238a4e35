"""Email from templates: plain text with an HTML alternative, links on the public site."""

import contextlib
import logging
import os
import smtplib
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def site_url(path: str) -> str:
    """An absolute link for emails and notifications (``SITE_URL`` + path)."""
    return settings.SITE_URL + path


def message_id_domain() -> str:
    """The right-hand side of the Message-IDs the platform sends: its public host."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def send_templated(
    *,
    to: str,
    subject: str,
    template: str,
    context: dict,
    event_id: str = "",
    kind: str = "",
    reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> None:
    """Send ``<template>.txt`` with ``<template>.html`` as its alternative.

    With ``event_id``, the Message-ID is derived from the event, so a delivery retried after
    the mail left is recognisable as the same message, and a reply to it (``In-Reply-To``)
    leads back to the event. ``headers`` adds others (threading, ``Auto-Submitted``).
    """
    context = {**context, "site_url": settings.SITE_URL}
    headers = dict(headers or {})
    if event_id:
        headers["Message-ID"] = f"<{event_id}.{kind or 'mail'}@{message_id_domain()}>"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    send(message)


# Seconds a kept SMTP connection may have been idle and still be used: servers close idle
# connections (aiosmtpd after 5 minutes, others sooner); past this one opens afresh instead.
SMTP_KEEP_IDLE = 30
_kept = threading.local()


@dataclass
class _Kept:
    server: tuple
    backend: SmtpBackend
    used_at: float


def send(message: EmailMessage) -> None:
    """Send ``message``; over SMTP, on this thread's connection, kept open between messages.

    Opening a connection (TCP, greeting, EHLO, and QUIT after) costs more round trips than the
    message itself. A kept connection the server has since closed fails at its first command,
    before any mail is handed over: the message then goes once more, on a new connection.
    Any other failure, a time limit included, drops the connection, whose state is unknown.
    """
    backend = get_connection()
    if not isinstance(backend, SmtpBackend):
        backend.send_messages([message])
        return
    server = (
        os.getpid(),  # a forked process must not write to its parent's socket
        backend.host,
        backend.port,
        backend.username,
        backend.use_tls,
        backend.use_ssl,
        backend.timeout,
    )
    kept: _Kept | None = getattr(_kept, "connection", None)
    _kept.connection = None
    if kept and (kept.server != server or time.monotonic() - kept.used_at > SMTP_KEEP_IDLE):
        _drop(kept.backend)
        kept = None
    if kept:
        try:
            kept.backend.send_messages([message])
        except (smtplib.SMTPServerDisconnected, ConnectionError) as closed:
            logger.info("the SMTP server closed a kept connection (%s); opening another", closed)
            _drop(kept.backend)
        except BaseException:
            _drop(kept.backend)
            raise
        else:
            kept.used_at = time.monotonic()
            _kept.connection = kept
            return
    backend.open()
    try:
        backend.send_messages([message])
    except BaseException:
        _drop(backend)
        raise
    _kept.connection = _Kept(server, backend, time.monotonic())


def _drop(backend: SmtpBackend) -> None:
    """Close the socket without a QUIT: the server may be gone or mid-answer."""
    with contextlib.suppress(OSError):
        if backend.connection is not None:
            backend.connection.close()
    backend.connection = None
