"""Which webhook targets we are willing to POST to.

A webhook makes our server send requests to an address the agent chose, so without a check any agent could probe or
hit the platform's own network (Redis, PostgreSQL, cloud metadata at 169.254.169.254...). The host is resolved and
every address it resolves to must be public. Checked when the endpoint is registered AND before every attempt,
because DNS can change in between; redirects are never followed.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from common.errors import ValidationFailed


class TargetNotAllowed(ValidationFailed):
    def __init__(self, message: str):
        super().__init__(message, details={"fields": {"url": [message]}})


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetNotAllowed(f"Cannot resolve host {host!r}.") from exc
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def check_target(url: str) -> None:
    """Raise :class:`TargetNotAllowed` (400) unless ``url`` is http(s) to a host with only public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetNotAllowed("The URL must start with https:// or http://.")
    host = parts.hostname
    if not host:
        raise TargetNotAllowed("The URL has no host.")
    if parts.username or parts.password:
        raise TargetNotAllowed("Credentials in the URL are not accepted; authenticate with the signature.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetNotAllowed("The URL has an invalid port.") from exc
    for ip in resolve(host, port):
        if _forbidden(ip) and not settings.WEBHOOK_ALLOW_PRIVATE:
            raise TargetNotAllowed(f"{host} resolves to {ip}, a private, loopback, link-local or reserved "
                                   f"address; webhooks only go to public addresses.")
