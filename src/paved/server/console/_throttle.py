"""A bound on failed sign-ins per client address.

Each failed sign-in writes an audit row; without a bound, anyone who can reach the console
could grow the audit table (and try tokens) as fast as the server answers. After
:data:`FAILURES` failures from one address within :data:`WINDOW` of the platform's clock,
that address is answered 429 with ``Retry-After`` until its oldest failure leaves the
window, with no audit row written and no token looked up. A sign-in that succeeds clears
its address.

The console keeps the failures in the database (:class:`StoredSignInThrottle`, the table
``console_sign_in_failures`` of migration 0009), so the bound holds across the server's
worker processes and replicas; failures older than the window are deleted as new ones come.
:class:`SignInThrottle` keeps them in one process's memory instead, forgetting the least
recently failing addresses beyond :data:`ADDRESSES`.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import threading

import sqlalchemy as sa

from paved.server._db import writer
from paved.server._tables import console_sign_in_failures as failures_table

__all__ = ["ADDRESSES", "FAILURES", "WINDOW", "SignInThrottle", "StoredSignInThrottle"]

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


#: The longest address kept (an IPv6 address with a zone fits).
_ADDRESS_LENGTH = 100


class StoredSignInThrottle:
    """Failed sign-ins per address within a window, kept in the platform's database: every
    process over it counts the same failures (the same methods as :class:`SignInThrottle`).
    """

    def __init__(
        self, engine: sa.Engine, *, failures: int = FAILURES, window: dt.timedelta = WINDOW
    ) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._failures = failures
        self._window = window

    def retry_after(self, address: str, now: dt.datetime) -> int | None:
        """Seconds until ``address`` may try again, or ``None`` when it may now."""
        table = failures_table
        recent = (
            sa.select(table.c.failed_at)
            .where(
                table.c.address == address[:_ADDRESS_LENGTH],
                table.c.failed_at > now - self._window,
            )
            .order_by(table.c.failed_at.desc())
            .limit(self._failures)
        )
        with self._engine.connect() as conn:
            times = conn.execute(recent).scalars().all()
        if len(times) < self._failures:
            return None
        # The oldest of the last FAILURES failures: when it leaves the window, one may.
        oldest: dt.datetime = times[-1]
        wait = (oldest + self._window - now).total_seconds()
        return max(1, math.ceil(wait))

    def failed(self, address: str, now: dt.datetime) -> None:
        """Count a failed sign-in of ``address`` at ``now``, and delete the failures (of
        every address) that have left the window."""
        table = failures_table
        with self._writer.begin() as conn:
            conn.execute(table.delete().where(table.c.failed_at <= now - self._window))
            conn.execute(table.insert().values(address=address[:_ADDRESS_LENGTH], failed_at=now))

    def succeeded(self, address: str) -> None:
        """Forget the failures of ``address``: its sign-in succeeded."""
        table = failures_table
        with self._writer.begin() as conn:
            conn.execute(table.delete().where(table.c.address == address[:_ADDRESS_LENGTH]))
