"""The SSRF guard: webhooks reach only `https` URLs on public addresses (DESIGN §8).

Checked twice: when an endpoint is registered or changed (`check_url`, so a mistake is a
problem naming `url`), and at *every* connection the worker opens (`GuardedBackend`), after
DNS resolution and on the very address it then connects to. A name that resolved to a public
address at registration and to 10.0.0.1 today (DNS rebinding) is refused at connection time;
nothing connects to an address it has not checked. Redirects are never followed (the client is
built with `follow_redirects=False`), and environment proxies are ignored.

`GATEWAY_WEBHOOKS_ALLOW_INSECURE=1` (development and tests) also allows `http` and loopback
addresses, never private networks or link-local ones such as 169.254.169.254 (cloud metadata).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: how long registration waits for DNS; a name that does not resolve yet is checked on use
RESOLVE_TIMEOUT = 3.0


class ForbiddenAddress(Exception):
    """A connection the guard refused; its message names the address and why."""


def address_problem(address: IPAddress, allow_insecure: bool) -> str | None:
    """Why a connection to `address` is refused, or None when it is allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_insecure else f"{address} is a loopback address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if not address.is_global:
        return f"{address} is a private or special-purpose address"
    return None


def url_problem(url: str, allow_insecure: bool) -> str | None:
    """What is wrong with a URL before any name is resolved, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.URL(url)  # what the sender will parse (IDNA host names included)
    except (ValueError, httpx.InvalidURL) as error:
        return f"is not a valid URL ({error})"
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes:
        return "must be an https URL" if not allow_insecure else "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials: receivers authenticate deliveries by their signature"
    if parts.fragment:
        return "must not have a fragment"
    if port == 0:
        return "port 0 is not a port"
    literal = _literal(parts.hostname)
    if literal is not None:
        return address_problem(literal, allow_insecure)
    if parts.hostname.rstrip(".").lower() == "localhost" or parts.hostname.lower().endswith(".localhost"):
        return None if allow_insecure else "localhost is a loopback address"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for info in infos:
        seen.setdefault(ipaddress.ip_address(str(info[4][0]).split("%")[0]), None)
    return list(seen)


async def check_url(url: str, allow_insecure: bool) -> str | None:
    """At registration: the URL's shape, then every address its host resolves to now. A host
    that does not resolve (yet) passes: nothing can be reached through it, and every connection
    is checked again."""
    problem = url_problem(url, allow_insecure)
    if problem is not None:
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _literal(host) is not None:
        return None
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            addresses = await resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, TimeoutError, UnicodeError):
        return None
    for address in addresses:
        reason = address_problem(address, allow_insecure)
        if reason is not None:
            return f"{host} resolves to {reason}"
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard between resolution and connection: it
    resolves the host itself, refuses the connection if any address is forbidden, and connects
    to a checked address (TLS still verifies the certificate against the host's name)."""

    def __init__(self, allow_insecure: bool) -> None:
        self.allow_insecure = allow_insecure
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _literal(host)
        try:
            async with asyncio.timeout(timeout):
                addresses = [literal] if literal is not None else await resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        for address in addresses:  # all of them: a name with one private address is refused
            reason = address_problem(address, self.allow_insecure)
            if reason is not None:
                raise ForbiddenAddress(f"{host} resolves to {reason}" if literal is None else reason)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        raise last or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise ForbiddenAddress("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `GuardedBackend`: a pool of kept-alive connections per origin."""

    def __init__(self, allow_insecure: bool, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_insecure),
        )


def guarded_client(
    allow_insecure: bool,
    timeout: httpx.Timeout,
    max_connections: int = 100,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_insecure, limits, ssl_context),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
