"""Bearer tokens and session ids: random secrets, stored only as SHA-256 hashes.

The secrets are 32 random bytes, so a fast hash suffices; a slow one (argon2, see passwords.py)
is for guessable secrets such as passwords.
"""

from __future__ import annotations

import hashlib
import secrets

#: Marks Courtyard tokens, so secret scanners and people recognise one in a log or a repository.
TOKEN_PREFIX = "cy_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison, for CSRF tokens."""
    return secrets.compare_digest(a.encode(), b.encode())
