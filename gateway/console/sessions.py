"""Console sessions: an encrypted cookie (AES-256-GCM under a key derived from
CONSOLE_SESSION_KEY), bound to one tenant, with an expiry and the session's CSRF token inside.

The gateway has no database (SPEC §1), so the cookie carries the session itself. The tenant is the
AEAD's associated data: a cookie made for one clinic does not even decrypt for another. Sign-in
forms (before there is a session) use a signed double-submit token instead: a random value in a
cookie and its HMAC in the form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_SECONDS = 8 * 3600  # a working day; then sign in again
LOGIN_FORM_SECONDS = 3600
VERSION = b"\x01"
NONCE_BYTES = 12
MAX_COOKIE = 4096


def _derive(key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    tenant: str
    email: str
    expires_at: float  # epoch seconds
    csrf: str  # the synchronizer token every form of this session carries
    stamp: str = ""  # the account's session stamp at sign-in: a new password ends the session

    @property
    def actor(self) -> str:
        return f"console:{self.email}"

    def csrf_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.csrf.encode())


class SessionBox:
    def __init__(self, key: str, now: Callable[[], float] = time.time) -> None:
        self._aead = AESGCM(_derive(key, b"voice-booking console session v1"))
        self._login_key = _derive(key, b"voice-booking console sign-in form v1")
        self.now = now

    def new(self, tenant: str, email: str, stamp: str) -> Session:
        return Session(tenant, email, self.now() + SESSION_SECONDS, secrets.token_urlsafe(24), stamp)

    def seal(self, session: Session) -> str:
        body = json.dumps({"e": session.email, "x": session.expires_at, "c": session.csrf, "s": session.stamp}).encode()
        nonce = os.urandom(NONCE_BYTES)
        return _b64(VERSION + nonce + self._aead.encrypt(nonce, body, _context(session.tenant)))

    def open(self, tenant: str, cookie: str) -> Session | None:
        """The live session in `cookie` for this tenant; None if absent, forged, foreign or expired."""
        if not cookie or len(cookie) > MAX_COOKIE:
            return None
        try:
            raw = _unb64(cookie)
            if raw[:1] != VERSION or len(raw) <= 1 + NONCE_BYTES:
                return None
            body = self._aead.decrypt(raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :], _context(tenant))
            values = json.loads(body)
            session = Session(tenant, str(values["e"]), float(values["x"]), str(values["c"]), str(values.get("s", "")))
        except (ValueError, InvalidTag, KeyError, TypeError):
            return None
        return session if session.expires_at > self.now() else None

    def login_token(self, tenant: str, nonce: str) -> str:
        """The sign-in form's token for the nonce in its cookie."""
        return hmac.new(self._login_key, f"{tenant}:{nonce}".encode(), hashlib.sha256).hexdigest()

    def login_token_ok(self, tenant: str, nonce: str, token: str) -> bool:
        return bool(nonce) and hmac.compare_digest(self.login_token(tenant, nonce).encode(), token.encode())


def _context(tenant: str) -> bytes:
    return f"console-session:{tenant}".encode()
