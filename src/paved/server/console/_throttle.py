"""A bound on failed sign-ins per client address, kept in the server's memory.

Each failed sign-in writes an audit row; without a bound, anyone who can reach the console
could grow the audit table (and try tokens) as fast as the server answers. After
:data:`FAILURES` failures from one address within :data:`WINDOW` of the platform's clock,
that address is answered 429 with ``Retry-After`` until its oldest failure leaves the
window, without the database being touched. A sign-in that succeeds clears its address.

The record is per server process and forgets the least recently failing addresses beyond
:data:`ADDRESSES`, so it stays small whatever arrives.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import threading

__all__ = ["ADDRESSES", "FAILURES", "WINDOW", "SignInThrottle"]

FAILURES = 10
WINDOW = dt.timedelta(minutes=15)
ADDRESSES = 10_000


class SignInThrottle:
    """Failed sign-ins per address within a window (thread-safe: requests run in a pool)."""

    def __init__(
        self,
        *,
        failures: int = FAILURES,
        window: dt.timedelta = WINDOW,
        addresses: int = ADDRESSES,
    ) -> None:
        self._failures = failures
        self._window = window
        self._addresses = addresses
        self._lock = threading.Lock()
        #: Address -> the times of its failures in the window, oldest first; the least
        #: recently failing address first.
        self._seen: collections.OrderedDict[str, collections.deque[dt.datetime]] = (
            collections.OrderedDict()
        )

    def _recent(self, address: str, now: dt.datetime) -> collections.deque[dt.datetime] | None:
        times = self._seen.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._seen[address]
            return None
        return times

    def retry_after(self, address: str, now: dt.datetime) -> int | None:
        """Seconds until ``address`` may try again, or ``None`` when it may now."""
        with self._lock:
            times = self._recent(address, now)
            if times is None or len(times) < self._failures:
                return None
            wait = (times[0] + self._window - now).total_seconds()
            return max(1, math.ceil(wait))

    def failed(self, address: str, now: dt.datetime) -> None:
        """Count a failed sign-in of ``address`` at ``now``."""
        with self._lock:
            times = self._recent(address, now)
            if times is None:
                times = self._seen[address] = collections.deque(maxlen=self._failures)
            times.append(now)
            self._seen.move_to_end(address)
            while len(self._seen) > self._addresses:
                self._seen.popitem(last=False)

    def succeeded(self, address: str) -> None:
        """Forget the failures of ``address``: its sign-in succeeded."""
        with self._lock:
            self._seen.pop(address, None)
