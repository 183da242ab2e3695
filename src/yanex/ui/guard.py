"""Keeping the page's data on this machine and its one write on this page.

Three defences, each cheap:

- **Host check**: every request must name this server in its ``Host``
  header: an IP address, ``localhost``, or (when it listens beyond the
  loopback interface) the address it was given and this machine's names.
  A hostile web site that rebinds its own domain name to 127.0.0.1 sends
  its own name as ``Host`` and is refused, so it cannot read the store
  through the visitor's browser (DNS rebinding needs a name; an IP address
  in ``Host`` means the client typed it).
- **Write check**: the one write (``PATCH``) must carry the per-server
  random token the page receives when it loads, in the ``X-Yanex-Token``
  header, and an ``Origin`` naming this very server. Other sites can
  neither read the token nor send the header without a CORS preflight,
  which this server never grants.
- **Headers**: ``nosniff``, a Content-Security-Policy allowing scripts
  only from the server's own static files (no inline script at all), no
  framing, no referrer, resources for this origin only. Files from
  experiments are sent under a sandboxing policy, so an HTML or SVG
  artifact cannot run script with the page's rights.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yanex.ui import jsonsafe

TOKEN_HEADER = "x-yanex-token"

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

_COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-resource-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}


def new_token() -> str:
    """A fresh secret for one server's lifetime."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the server to this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The host part of a ``Host`` header, without port or IPv6 brackets."""
    header = host_header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[1:end] if end > 0 else header
    return header.rsplit(":", 1)[0] if ":" in header else header


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def expected_names(listen_host: str) -> frozenset[str]:
    """The host names a server listening on ``listen_host`` answers to.

    IP addresses are always accepted (see the module documentation).
    """
    names = {"localhost", listen_host.strip("[]").lower()}
    if not is_loopback(listen_host):
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    return frozenset(names)


def is_expected_host(host_header: str, names: Collection[str]) -> bool:
    """Whether a ``Host`` header names this server."""
    name = host_name(host_header)
    return bool(name) and (name in names or _is_ip_address(name))


def is_same_origin(headers: Headers, token: str) -> bool:
    """Whether a write comes from this server's own page."""
    offered = headers.get(TOKEN_HEADER, "")
    if not secrets.compare_digest(offered.encode(), token.encode()):
        return False
    origin = headers.get("origin")
    host = headers.get("host")
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        return False
    return headers.get("sec-fetch-site", "same-origin") == "same-origin"


def refusal(message: str) -> Response:
    """A 403 answer with a JSON error."""
    return Response(
        jsonsafe.dumps({"error": message}), 403, media_type="application/json"
    )


class Guard:
    """ASGI middleware: the host check and the security headers."""

    def __init__(self, app: ASGIApp, host_names: Collection[str]) -> None:
        self.app = app
        self.host_names = frozenset(name.lower() for name in host_names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if not is_expected_host(host, self.host_names):
            response = refusal(
                f"this server does not answer for host {host!r};"
                " use its IP address or localhost"
            )
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Any:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _COMMON_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", PAGE_POLICY)
            await send(message)

        return sending
