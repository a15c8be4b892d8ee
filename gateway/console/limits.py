"""Sign-in attempt limits, in this process's memory: failures per clinic and email, attempts per
client address. One gateway process counts alone (several replicas each allow the limit);
acceptable for slowing guessing, which argon2 already makes slow.

An attempt counts against its account from the moment it is let in, not once its password has
been found wrong: guesses sent at once would otherwise all pass the check while the first are
still being hashed. A right password takes its attempt back (and clears the account's count)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

WINDOW_SECONDS = 15 * 60
FAILURES_PER_ACCOUNT = 5  # wrong passwords per tenant + email per window
ATTEMPTS_PER_ADDRESS = 20  # sign-ins per client address per window
MAX_KEYS = 10_000  # memory stays bounded whatever names and addresses are sent


class Window:
    """Events per key within the last `seconds`; at most `limit` allowed."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._events: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        cutoff = self.clock() - self.seconds
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    def full(self, key: Hashable) -> bool:
        return len(self._recent(key)) >= self.limit

    def add(self, key: Hashable) -> None:
        events = self._recent(key)
        events.append(self.clock())
        self._events[key] = events
        self._events.move_to_end(key)
        while len(self._events) > MAX_KEYS:
            self._events.popitem(last=False)

    def clear(self, key: Hashable) -> None:
        self._events.pop(key, None)

    def drop_last(self, key: Hashable) -> None:
        events = self._events.get(key)
        if events:
            events.pop()


class SignInLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.accounts = Window(FAILURES_PER_ACCOUNT, WINDOW_SECONDS, clock)
        self.addresses = Window(ATTEMPTS_PER_ADDRESS, WINDOW_SECONDS, clock)

    def allowed(self, tenant: str, email: str, address: str) -> bool:
        """Counts the attempt against the address and the account (as a failure until it succeeds);
        False when either limit is reached."""
        if self.addresses.full(address) or self.accounts.full((tenant, email)):
            return False
        self.addresses.add(address)
        self.accounts.add((tenant, email))
        return True

    def failed(self, tenant: str, email: str) -> None:
        """The password was wrong: the attempt already counts (see `allowed`)."""

    def unchecked(self, tenant: str, email: str) -> None:
        """The password could not be checked (availability away): the attempt does not count."""
        self.accounts.drop_last((tenant, email))

    def succeeded(self, tenant: str, email: str) -> None:
        self.accounts.clear((tenant, email))
