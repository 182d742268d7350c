"""Bearer-token checks, shared by the webhook receiver and the API middleware."""

from __future__ import annotations

import hmac


def bearer_matches(header: str, expected: bytes) -> bool:
    """True when an `Authorization` header carries exactly `expected` as a bearer token.

    Constant-time in the token, so a caller cannot learn it byte by byte.
    """
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)
