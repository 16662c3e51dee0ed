"""Where a webhook may go: the URL rule and the SSRF guard (docs/webhooks.md).

A URL must be ``https://`` (``http://`` too when ``WEBHOOKS_ALLOW_HTTP``, on by default
with ``DEBUG``), without credentials. Its host is resolved when a delivery is sent and
*every* address it resolves to must be public: private, loopback, link-local, shared,
multicast, reserved and unspecified addresses are refused (an IPv4 address mapped into
IPv6 is judged as the IPv4 one), unless ``WEBHOOKS_ALLOW_PRIVATE_ADDRESSES``. The
request then connects to the address that was checked, never resolving the name again
(no DNS rebinding between the check and the connection).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from members.webhooks.errors import WebhookUrlNotAllowed

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name, for the Host header and TLS
    port: int
    path: str  # path and query
    address: str  # the checked address to connect to


def schemes_allowed() -> set[str]:
    return {"https", "http"} if settings.WEBHOOKS_ALLOW_HTTP else {"https"}


def url_check(url: str) -> None:
    """What can be said without resolving: scheme, host, no credentials, no private literal."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a malformed port raises)
    except ValueError:
        raise WebhookUrlNotAllowed("This is not a URL with a host and a valid port.", attr="url") from None
    if any(c.isspace() for c in url):
        raise WebhookUrlNotAllowed("A webhook URL has no spaces.", attr="url")
    if parts.scheme not in schemes_allowed():
        raise WebhookUrlNotAllowed(
            "Only https:// URLs receive webhooks." if parts.scheme != "https" else None, attr="url"
        )
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise WebhookUrlNotAllowed("The URL needs a host and no user name or password.", attr="url")
    host = parts.hostname.rstrip(".").lower()
    local = host == "localhost" or host.endswith(".localhost")
    if local and not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        raise WebhookUrlNotAllowed("Webhooks never go to this machine (localhost).", attr="url")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_allowed(str(literal)):
        raise WebhookUrlNotAllowed(
            "Webhooks never go to private, loopback or link-local addresses.", attr="url"
        )


def address_allowed(address: str) -> bool:
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class Refused(Exception):
    """A delivery that must not be sent (the URL or an address it resolves to)."""


def resolve(url: str) -> Target:
    """The URL resolved and checked: every address must be allowed; the first one is used."""
    try:
        url_check(url)
    except WebhookUrlNotAllowed as refused:
        raise Refused(str(refused.detail)) from None
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    host = parts.hostname.rstrip(".")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise Refused(f"{host} has no address")
    for address in addresses:
        if not address_allowed(address):
            raise Refused(f"{host} resolves to {address}, a private, loopback or link-local address")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])
