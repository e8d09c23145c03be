"""Pure batching: a bounded buffer of lines that flushes at N points or T ms, whichever first.

No I/O and no locks: the service owns the lock. A taken batch carries the acknowledgement
tokens of the messages in it, so they are acknowledged only once the batch is durable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Token = TypeVar("Token")


class Batch(Generic[Token]):
    __slots__ = ("lines", "tokens")

    def __init__(self, lines: list[str], tokens: list[Token]) -> None:
        self.lines = lines
        self.tokens = tokens

    def body(self) -> bytes:
        """The line protocol request body; empty lines (duplicates kept only to be
        acknowledged) are left out."""
        return "".join(line + "\n" for line in self.lines if line).encode()


class Batcher(Generic[Token]):
    """Holds at most `capacity` lines; `full` tells the source to stop reading."""

    __slots__ = ("_capacity", "_first_added_ms", "_lines", "_max_age_ms", "_max_points", "_tokens")

    def __init__(self, *, max_points: int, max_age_ms: int, capacity: int) -> None:
        if not 0 < max_points <= capacity:
            raise ValueError("need 0 < max_points <= capacity")
        self._max_points = max_points
        self._max_age_ms = max_age_ms
        self._capacity = capacity
        self._lines: list[str] = []
        self._tokens: list[Token] = []
        self._first_added_ms = 0

    @property
    def pending(self) -> int:
        return len(self._lines)

    @property
    def full(self) -> bool:
        return len(self._lines) >= self._capacity

    def add(self, line: str, token: Token, clock: Callable[[], int]) -> bool:
        """Add a line; True when it makes a whole batch. The clock is read only when the line
        is the first: for nearly every line, it need not be."""
        lines = self._lines
        if not lines:
            self._first_added_ms = clock()
        lines.append(line)
        self._tokens.append(token)
        return len(lines) == self._max_points

    def due(self, now_ms: int) -> bool:
        if len(self._lines) >= self._max_points:
            return True
        return bool(self._lines) and now_ms - self._first_added_ms >= self._max_age_ms

    def ms_until_due(self, now_ms: int) -> int | None:
        """How long until the oldest line reaches its age limit; None when empty."""
        if not self._lines:
            return None
        return max(0, self._first_added_ms + self._max_age_ms - now_ms)

    def take(self) -> Batch[Token]:
        """The oldest lines, up to one batch; the rest stay for the next."""
        count = self._max_points
        batch = Batch(self._lines[:count], self._tokens[:count])
        # a remainder keeps the old first-added time: it is a backlog, due at once
        del self._lines[:count], self._tokens[:count]
        return batch
