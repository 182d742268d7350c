"""Token buckets per Slack limit, and Retry-After blocks: when may the next call go out.

Pure (the clock is passed in). `slack.sender` asks `wait(key, now)` before each call and
`take(key, now)` when it sends; a 429 calls `block(key, until)`. Keys are Slack's own
limits: `("post", channel)` for chat.postMessage (about one message a second per channel,
short bursts tolerated) and `("update",)` for chat.update (Tier 3, about 50 a minute for
the whole workspace).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Key = tuple[str, ...]


@dataclass
class Bucket:
    """`rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float
    at: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now


@dataclass
class Pacer:
    """Buckets created on first use from `limits[key[0]]` = (rate per second, burst)."""

    limits: dict[str, tuple[float, float]]
    buckets: dict[Key, Bucket] = field(default_factory=dict)
    blocked: dict[Key, float] = field(default_factory=dict)

    def _bucket(self, key: Key, now: float) -> Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            rate, burst = self.limits[key[0]]
            bucket = self.buckets[key] = Bucket(rate, burst, burst, now)
        bucket.refill(now)
        return bucket

    def wait(self, key: Key, now: float) -> float:
        """Seconds until a call under `key` may go out (0 when it may go now)."""
        blocked = max(0.0, self.blocked.get(key, 0.0) - now)
        bucket = self._bucket(key, now)
        short = 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / bucket.rate
        return max(blocked, short)

    def take(self, key: Key, now: float) -> None:
        """Spend a token for a call going out now."""
        self._bucket(key, now).tokens -= 1

    def block(self, key: Key, until: float, *, drain: bool = False) -> None:
        """Nothing under `key` before `until`; with `drain` (Slack's Retry-After) no saved
        burst either, so the calls after the wait come at the steady rate."""
        self.blocked[key] = max(self.blocked.get(key, 0.0), until)
        bucket = self.buckets.get(key)
        if bucket is not None and drain:
            bucket.tokens = min(bucket.tokens, 0.0)
