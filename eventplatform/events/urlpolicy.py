"""Where operators' webhook subscriptions may send events: the public internet, nowhere else.

An operator types a subscription's URL into the admin; the platform then POSTs to it from
inside its own network and records the answer. Left unchecked, that reaches Redis, the
database, the cloud's metadata service and the platform's own API. So a URL must be http(s)
without credentials, must not name the platform's own hosts (``ALLOWED_HOSTS``), and every
address its host resolves to must be public: not loopback, private (RFC 1918, ULA),
link-local, a cloud metadata address, unspecified, multicast, reserved, shared (CGNAT) or
site-local, nor any of these inside IPv4-mapped, 6to4 or NAT64 IPv6 addresses.

The policy holds twice. Saving a subscription runs it (a form error that says why), and so
does every send, after resolving the host: the request then goes to the address that passed,
keeping the URL's host in the ``Host`` header and in TLS (SNI and the certificate check), so
a name cannot resolve to a public address for the check and to a private one for the
connection (DNS rebinding). Redirects are not followed: a 3xx answer is a permanent failure
that names it, and the operator enters the final URL.

``OUTBOUND_URL_ALLOW`` (comma-separated host names and networks, e.g.
``hooks.internal,10.8.0.0/16``) lets through what the deployer vouches for: a receiver on the
private network, or the local receivers of development and the test suite. A host name on it
is trusted with whatever it resolves to; an address passes when a network on it holds it.

``SLACK_WEBHOOK_URL`` and ``CRM_WEBHOOK_URL`` are not held to this policy: the deployer sets
them in the environment, trusted like ``DATABASE_URL``, and a CRM inside the private network
is a legitimate deployment. The policy guards what an operator can enter, not what the
deployer configures.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http.request import validate_host

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(map(ipaddress.ip_address, ["169.254.169.254", "fd00:ec2::254"]))
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Checked in this order, so that the reason given is the most specific one.
NON_PUBLIC = {
    "is_loopback": "a loopback address",
    "is_unspecified": "an unspecified address",
    "is_link_local": "a link-local address",
    "is_multicast": "a multicast address",
    "is_reserved": "a reserved address",
    "is_site_local": "a site-local address",  # IPv6 only
    "is_private": "a private address",
}


class RefusedURL(ValueError):
    """A URL the platform will not send to; the message says why, for the operator."""


def endpoint(url: str) -> str:
    """The URL as the platform records and shows it: scheme, host, port and path.

    Query strings and credentials often carry the receiver's token; they stay out of errors,
    logs and lists."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def checked_address(url: str) -> str:
    """Resolve ``url``'s host, check the URL and each address, and return the address to
    connect to; raise ``RefusedURL`` when the policy refuses.

    A name that does not resolve raises ``OSError`` (``socket.gaierror``): DNS may be down
    for a moment, so that is no verdict on the URL.
    """
    host, port = _checked_form(url)
    resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(_address(sockaddr[0]) for *_, sockaddr in resolved))
    if not _allowed(host, addresses):
        for address in addresses:
            if reason := refusal(address):
                subject = f"{host} is" if _is_literal(host) else f"{host} resolves to {address},"
                raise RefusedURL(f"{subject} {reason}.")
        if _is_own_host(host):
            raise RefusedURL(f"{host} is this platform's own host.")
    return str(addresses[0])


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is no place for a webhook, or None when it is a public address."""
    if (inner := _embedded_ipv4(address)) is not None:
        reason = refusal(inner)
        return reason and f"{reason} ({inner} inside an IPv6 address)"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address in SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    for kind, description in NON_PUBLIC.items():
        if getattr(address, kind, False):
            return description
    return None if address.is_global else "not a public address"


def validate_outbound_url(url: str) -> None:
    """Model and form validation of a subscription's URL: the send-time check, said early."""
    try:
        checked_address(url)
    except RefusedURL as refused:
        raise ValidationError(f"Webhooks cannot be sent there: {refused}", code="refused") from None
    except OSError:
        host = urlsplit(url).hostname
        raise ValidationError(
            f"{host} does not resolve: check the host name.", code="dns"
        ) from None


def _checked_form(url: str) -> tuple[str, int]:
    """The URL's host and port, once its form passes: http(s), no credentials, a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as invalid:
        raise RefusedURL(f"it is not a valid URL ({invalid}).") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedURL("only http and https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise RefusedURL("credentials in the URL are not allowed; the signature authenticates.")
    if not parts.hostname:
        raise RefusedURL("the URL names no host.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _address(text: str) -> IPAddress:
    # getaddrinfo appends an IPv6 link-local address's zone ("fe80::1%eth0").
    return ipaddress.ip_address(text.split("%", 1)[0])


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to its destination (mapped, 6to4 or NAT64)."""
    if address.version == 4:
        return None
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


def _allowed(host: str, addresses: list[IPAddress]) -> bool:
    """Whether ``OUTBOUND_URL_ALLOW`` names the host, or holds each of its addresses."""
    names, networks = set(), []
    for entry in settings.OUTBOUND_URL_ALLOW:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower())
    return host in names or all(any(a in network for network in networks) for a in addresses)


def _is_own_host(host: str) -> bool:
    own = [pattern for pattern in settings.ALLOWED_HOSTS if pattern != "*"]
    return validate_host(host.rstrip("."), own)  # "example.com." is example.com
