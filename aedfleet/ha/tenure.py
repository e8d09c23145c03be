"""When a collector may count itself the leader: pure, on its own monotonic clock.

The lease row in PostgreSQL (aedfleet/ha/lease.py) expires `ttl` after the database's clock
read while the acquiring statement ran, which is after the contender started asking. So if the
contender counts itself leader only until (its monotonic time when it STARTED the last
successful acquire or renew) + ttl - margin, it stops before the row can expire, hence before
anyone else can acquire it: at most one leader at any moment, whatever the collectors' wall
clocks say. The margin absorbs the two machines' clock rates (ppm) and a paused process waking
up between its check and its act.
"""

from __future__ import annotations

from typing import NamedTuple


class Terms(NamedTuple):
    ttl_s: float = 15.0  # how long a lease lasts after each acquire or renew
    renew_every_s: float = 3.0  # a holder renews this often; several tries fit in ttl
    margin_s: float = 3.0  # a holder stops this long before its lease could lapse

    def check(self) -> None:
        """ValueError unless a holder renews at least twice within what it counts as held."""
        if not 0 < self.margin_s < self.ttl_s:
            raise ValueError(f"the margin ({self.margin_s} s) must be within the ttl"
                             f" ({self.ttl_s} s)")  # fmt: skip
        if not 0 < 2 * self.renew_every_s <= self.ttl_s - self.margin_s:
            raise ValueError(
                f"renewing every {self.renew_every_s} s must fit twice in the ttl less the margin"
                f" ({self.ttl_s - self.margin_s} s)"
            )


class Tenure(NamedTuple):
    """What a contender knows of its own leadership: until when (monotonic) it leads."""

    leads_until: float | None = None

    def leads(self, now: float) -> bool:
        return self.leads_until is not None and now < self.leads_until

    def lapsed(self, now: float) -> bool:
        """It led and its time ran out without a renewal: it must stop acting at once."""
        return self.leads_until is not None and now >= self.leads_until


def after_attempt(tenure: Tenure, terms: Terms, started: float, held: bool | None) -> Tenure:
    """The tenure after an acquire or renew that started at `started`: `held` True (the row is
    ours), False (another holds it: we lead no longer, at once) or None (the database did not
    answer: what we had stands, and runs out on its own)."""
    if held is None:
        return tenure
    if not held:
        return Tenure()
    return Tenure(started + terms.ttl_s - terms.margin_s)
