"""The self-hosted way in: an SMTP or LMTP server a local mail server hands support mail to.

A mail server such as Postfix delivers to it over loopback (``run_mail_receiver``). Each
message is stored, with its processing published, and committed before the answer: 250 means
the platform has it, and anything short of that is a temporary failure (451), so the mail
server keeps the message and tries again later. Nothing is accepted and then lost.
"""

import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from .inbound import mail_store

logger = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 OK: stored"
TRY_AGAIN = "451 4.3.0 The message could not be stored; try again later"


def _store(raw: bytes, transport: str, mail_from: str, rcpt_tos: list[str]) -> None:
    # Long-lived process: drop connections the database closed meanwhile, as requests do.
    close_old_connections()
    try:
        mail_store(
            raw, transport=transport, envelope_sender=mail_from, envelope_recipients=rcpt_tos
        )
    finally:
        close_old_connections()


class InboundMailHandler:
    """aiosmtpd's handler: store each message, then answer."""

    def __init__(self, *, lmtp: bool = False) -> None:
        self.lmtp = lmtp

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):  # only when the server decodes data, which ours does not
            raw = raw.encode("utf-8", "surrogateescape")
        transport = "lmtp" if self.lmtp else "smtp"
        try:
            await sync_to_async(_store, thread_sensitive=True)(
                raw, transport, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
            answer = ACCEPTED
        except Exception:
            logger.exception("could not store an inbound email from %s", session.peer)
            answer = TRY_AGAIN
        # LMTP answers DATA once per recipient (RFC 2033); the message is stored once.
        return "\r\n".join([answer] * len(envelope.rcpt_tos)) if self.lmtp else answer


class _LmtpController(Controller):
    def factory(self) -> LMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def mail_receiver(*, host: str, port: int, lmtp: bool = False, max_bytes: int) -> Controller:
    """The receiver, ready to ``start()`` in its own thread and ``stop()``."""
    controller_class = _LmtpController if lmtp else Controller
    return controller_class(
        InboundMailHandler(lmtp=lmtp),
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
    )
