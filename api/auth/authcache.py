"""A short-lived cache of authenticated tokens, so a busy client costs no lookup per request.

Keyed by the token's hash; an entry lives `ttl_s` (ApiSettings.auth_cache_s, at most 10 s), so
an expired token or a changed assignment takes effect within that time. A revoked token or a
deactivated user clears the whole cache at once (`clear`, called on the access NOTIFY and by the
API's own revocations). Sessions are not cached: their CSRF checks and idle timeout want the
row.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from api.auth.principals import Principal

_MAX_ENTRIES = 10_000


class AuthCache:
    def __init__(self, ttl_s: float) -> None:
        self._ttl_s = ttl_s
        self._entries: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    def get(self, key: bytes) -> Principal | None:
        if self._ttl_s <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def clear(self) -> None:
        self._entries.clear()

    def put(self, key: bytes, principal: Principal) -> None:
        if self._ttl_s <= 0:
            return
        self._entries[key] = (time.monotonic() + self._ttl_s, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)
