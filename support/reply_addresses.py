"""The support address, and the signed reply address each ticket's emails carry.

A reply address names its ticket and is signed with the platform's secret
(``support+T-00012.<signature>@example.com``), so a reply finds its ticket even when the
customer's mail client drops the threading headers, and nobody can aim mail at a ticket by
guessing its number. The signature says which ticket, not who writes: the sender is checked
against the ticket's customer all the same.
"""

import re
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import reference_for

_SALT = "support.reply-address"
# 20 hex digits (80 bits) of HMAC-SHA256: short enough for a readable address, far beyond guessing.
_SIGNATURE_LENGTH = 20
_TAG = re.compile(rf"t-(\d{{1,12}})\.([0-9a-f]{{{_SIGNATURE_LENGTH}}})")


def _support_parts() -> tuple[str, str] | None:
    """The support address's (local part, domain), lower-cased; None when none is set."""
    address = parseaddr(settings.SUPPORT_EMAIL_ADDRESS)[1].lower()
    local, at, domain = address.rpartition("@")
    return (local, domain) if at and local and domain else None


def _signature(ticket_id: int) -> str:
    return salted_hmac(_SALT, reference_for(ticket_id), algorithm="sha256").hexdigest()[
        :_SIGNATURE_LENGTH
    ]


def reply_address(ticket_id: int) -> str:
    """The address replies about ``ticket_id`` go to; empty when no support address is set."""
    parts = _support_parts()
    if parts is None:
        return ""
    local, domain = parts
    return f"{local}+{reference_for(ticket_id)}.{_signature(ticket_id)}@{domain}"


def _split(address: str) -> tuple[str, str, str]:
    """(local part without its +tag, tag, domain) of an address, lower-cased."""
    local, _, domain = address.strip().lower().rpartition("@")
    base, _, tag = local.partition("+")
    return base, tag, domain


def is_support_address(address: str) -> bool:
    """Whether ``address`` is the support address, with or without a +tag."""
    parts = _support_parts()
    if parts is None:
        return False
    base, _, domain = _split(address)
    return (base, domain) == parts


def ticket_id_from_reply_address(address: str) -> int | None:
    """The ticket a reply address names, if its signature holds; None for any other address."""
    if not is_support_address(address):
        return None
    _, tag, _ = _split(address)
    match = _TAG.fullmatch(tag)
    if match is None:
        return None
    ticket_id = int(match[1])
    if not constant_time_compare(match[2], _signature(ticket_id)):
        return None
    return ticket_id
