"""Keeping the page's data on this machine and its one write on this page.

Three defences, each cheap:

- **Host check**: every request must name an expected host (loopback by
  default). A hostile web page that rebinds its own domain name to
  127.0.0.1 sends its own name as ``Host`` and is refused, so it cannot
  read the store through the visitor's browser.
- **Write check**: the one write (``PATCH``) must carry the per-server
  random token the page receives when it loads, in the ``X-Yanex-Token``
  header, and an ``Origin`` naming this very server. Other sites can
  neither read the token nor send the header without a CORS preflight,
  which this server never grants.
- **Headers**: ``nosniff``, a Content-Security-Policy allowing scripts
  only from the server's own static files, no framing, no referrer. Files
  from experiments are sent sandboxed, so an HTML or SVG artifact cannot
  run script with the page's rights.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yanex.ui import jsonsafe

TOKEN_HEADER = "x-yanex-token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

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
}


def new_token() -> str:
    """A fresh secret for one server's lifetime."""
    return secrets.token_urlsafe(32)


def host_name(host_header: str) -> str:
    """The host part of a ``Host`` header, without port or IPv6 brackets."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")].lower()
    return (
        host_header.rsplit(":", 1)[0].lower()
        if ":" in host_header
        else (host_header.lower())
    )


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

    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] | None) -> None:
        self.app = app
        self.allowed = (
            None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if self.allowed is not None and host_name(host) not in self.allowed:
            response = refusal(f"this server does not answer for host {host!r}")
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
                headers.setdefault("cache-control", "no-store")
            await send(message)

        return sending
