"""Signed links to a report's evidence photos, so an approver sees the photos, not a count.

A link names a report version and an expiry day and carries an HMAC of both under a key derived from
the channel secret: only someone who was sent the link can open it, and it stops working after
`LINK_DAYS`. The page and the photos are served by `tidtam/media_pages.py`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta

LINK_DAYS = 30


@dataclass(frozen=True)
class MediaLinks:
    base_url: str  # TIDTAM_PUBLIC_URL
    key: bytes

    @classmethod
    def from_secret(cls, base_url: str, channel_secret: str) -> MediaLinks:
        key = hashlib.sha256(b"tidtam media links\0" + channel_secret.encode()).digest()
        return cls(base_url.rstrip("/"), key)

    def _token(self, kind: str, ident: int, expires: int) -> str:
        message = f"{kind}:{ident}:{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def _expiry(self, today: date) -> int:
        return (today + timedelta(days=LINK_DAYS)).toordinal()

    def photos_page(self, version_id: int, today: date) -> str:
        """The page of a report version's photos, valid for `LINK_DAYS` from `today`."""
        expires = self._expiry(today)
        return (
            f"{self.base_url}/media/report/{version_id}?e={expires}&t={self._token('v', version_id, expires)}"
        )

    def photo(self, photo_id: int, expires: int) -> str:
        """One photo, valid as long as the page that shows it (a path: the page is on the same host)."""
        return f"/media/photo/{photo_id}?e={expires}&t={self._token('p', photo_id, expires)}"

    def valid(self, kind: str, ident: int, expires: int, token: str, today: date) -> bool:
        if expires < today.toordinal() or expires > self._expiry(today):
            return False
        return hmac.compare_digest(self._token(kind, ident, expires), token)
