"""Which webhook targets we are willing to POST to.

A webhook makes our server send requests to an address the agent chose, so without a check any agent could probe or
hit the platform's own network (Redis, PostgreSQL, cloud metadata at 169.254.169.254...). The host is resolved and
every address it resolves to must be globally routable (:func:`is_allowed`). Checked when the endpoint is registered
AND before every attempt, because DNS can change in between; the attempt then connects to the address that was
checked (:func:`pinned`), so a DNS answer that changes again cannot slip in; redirects are never followed.
"""

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from common.errors import ValidationFailed


class TargetNotAllowed(ValidationFailed):
    def __init__(self, message: str):
        super().__init__(message, details={"fields": {"url": [message]}})


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052): the last 32 bits are IPv4
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): a private network's translator

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries to (IPv4-mapped, 6to4, NAT64), else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_allowed(ip: Address) -> bool:
    """Only globally routable unicast addresses; an IPv6 form of an IPv4 address is judged by that IPv4 address.

    Refused among others: private, loopback, link-local (cloud metadata 169.254.169.254), carrier-grade NAT
    100.64.0.0/10 (where Alibaba's metadata 100.100.100.200 lives), documentation, benchmarking, reserved and
    multicast ranges, unique-local IPv6, Teredo, local-use NAT64, and any of these wrapped in ::ffff:0:0/96, 6to4
    (2002::/16) or NAT64 (64:ff9b::/96)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_allowed(inner)
        if ip in _NAT64_LOCAL or ip.teredo is not None:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private or ip.is_loopback
                                 or ip.is_link_local or ip.is_unspecified)


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetNotAllowed(f"Cannot resolve host {host!r}.") from exc
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def check_target(url: str) -> list[Address]:
    """The addresses ``url``'s host resolves to; :class:`TargetNotAllowed` (400) unless the URL is http(s) and every
    one of them is allowed (:func:`is_allowed`). Deliveries connect to one of these, not to a new resolution."""
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
    addresses = resolve(host, port)
    if not addresses:
        raise TargetNotAllowed(f"Cannot resolve host {host!r}.")
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for ip in addresses:
            if not is_allowed(ip):
                raise TargetNotAllowed(f"{host} resolves to {ip}, which is not a globally routable address "
                                       f"(private, loopback, link-local, shared or reserved, or one of these in an "
                                       f"IPv6 form); webhooks only go to public addresses.")
    return addresses


def pinned(url: str, ip: Address) -> tuple[str, dict, dict]:
    """(url, headers, httpx extensions) to send a request for ``url`` to ``ip`` itself, without resolving the host
    again (a DNS answer that changed since the check cannot redirect it): the Host header and, for https, the TLS
    server name (certificate check included) stay the original host's."""
    parts = urlsplit(url)
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
        return url, {}, {}  # already an address
    except ValueError:
        pass
    address = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = address + (f":{parts.port}" if parts.port else "")
    host_header = host + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), {"Host": host_header}, extensions
