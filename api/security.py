"""Response headers that limit what a page may run: Content-Security-Policy and friends.

Every HTML answer carries a Content-Security-Policy allowing scripts from this origin and
inline scripts carrying the response's nonce only (the scripts gridgen itself writes), so
markup smuggled into a page through a data value cannot run even if an escape were missed.
The viewer page gets a nonce, publishes it in ``<meta name="gridgen-nonce">`` and sends it
back in the ``X-Gridgen-Nonce`` header when it fetches a compound sheet: the sheet is shown
in a sandboxed ``srcdoc`` iframe, which inherits the viewer's policy, so the sheet's inline
scripts carry the viewer's nonce.
"""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NONCE_HEADER = "x-gridgen-nonce"
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_nonce() -> str:
    """Return a fresh random CSP nonce (URL-safe base64, 128 bits)."""
    return secrets.token_urlsafe(16)


def nonce_or_new(value: str | None) -> str:
    """Return ``value`` when it looks like a nonce this service hands out, else a new one."""
    if value and _NONCE_RE.fullmatch(value):
        return value
    return new_nonce()


def content_security_policy(nonce: str | None = None) -> str:
    """Return the policy of an HTML answer (inline scripts only with ``nonce``)."""
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return (
        f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )


_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.IGNORECASE)


def add_script_nonce(page: str, nonce: str) -> str:
    """Return ``page`` with ``nonce`` on each of its ``<script>`` tags.

    Only for pages gridgen renders itself, where every data value is escaped (so a
    ``<script`` in the text is one of ours).
    """
    return _SCRIPT_TAG.sub(f'<script nonce="{nonce}"', page)


class SecurityHeaders:
    """ASGI middleware adding ``nosniff``, ``no-referrer`` and a default CSP to HTML answers.

    A route that sets its own ``Content-Security-Policy`` (with a nonce) keeps it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the app, adding the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                html = headers.get("content-type", "").startswith("text/html")
                if html and "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = content_security_policy()
            await send(message)

        await self.app(scope, receive, send_with_headers)
