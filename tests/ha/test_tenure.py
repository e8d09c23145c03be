"""The lease's decision, on an injected monotonic clock: a holder leads only until the start of
its last successful acquire or renew + ttl - margin, so it stops before the database's row
(which expires ttl after the statement ran, later than it started) can be taken by another."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aedfleet.ha.tenure import Tenure, Terms, after_attempt

TERMS = Terms(ttl_s=15.0, renew_every_s=3.0, margin_s=3.0)


def test_a_contender_leads_from_a_held_attempt_until_its_start_plus_ttl_less_margin() -> None:
    assert not Tenure().leads(0.0) and not Tenure().lapsed(10**6)
    tenure = after_attempt(Tenure(), TERMS, started=100.0, held=True)
    assert tenure.leads(100.0) and tenure.leads(111.999)
    assert not tenure.leads(112.0) and tenure.lapsed(112.0)


def test_a_renewal_counts_from_when_it_was_asked_not_when_it_was_answered() -> None:
    tenure = after_attempt(Tenure(), TERMS, started=100.0, held=True)
    tenure = after_attempt(tenure, TERMS, started=105.0, held=True)  # answered at 110: slow
    assert tenure.leads_until == 117.0


def test_an_unanswered_renewal_keeps_what_was_held_and_it_runs_out() -> None:
    tenure = after_attempt(Tenure(), TERMS, started=100.0, held=True)
    for started in (103.0, 106.0, 109.0, 112.0):  # the database is gone
        tenure = after_attempt(tenure, TERMS, started=started, held=None)
    assert tenure.leads(111.0) and tenure.lapsed(112.0)


def test_a_lease_held_by_another_ends_the_tenure_at_once() -> None:
    tenure = after_attempt(Tenure(), TERMS, started=100.0, held=True)
    tenure = after_attempt(tenure, TERMS, started=103.0, held=False)
    assert not tenure.leads(103.5) and not tenure.lapsed(103.5)
    assert after_attempt(Tenure(), TERMS, started=1.0, held=None) == Tenure()


@given(st.floats(0, 1e6), st.floats(0, 30), st.floats(0.1, 60), st.floats(0.01, 0.99))
def test_the_tenure_ends_before_the_database_could_hand_the_lease_on(
    started: float, answer_delay: float, ttl: float, margin_share: float
) -> None:
    margin = ttl * margin_share
    terms = Terms(ttl_s=ttl, renew_every_s=(ttl - margin) / 2, margin_s=margin)
    tenure = after_attempt(Tenure(), terms, started=started, held=True)
    # the row expires ttl after the database ran the statement, at or after it was asked
    # (both times on one clock rate here; the margin covers two machines' rates)
    row_expires = started + answer_delay + ttl
    assert tenure.leads_until is not None and tenure.leads_until < row_expires


@pytest.mark.parametrize(
    ("terms", "why"),
    [(Terms(ttl_s=10, renew_every_s=2, margin_s=10), "margin"),
     (Terms(ttl_s=10, renew_every_s=5, margin_s=2), "twice"),
     (Terms(ttl_s=10, renew_every_s=0, margin_s=2), "twice")],
)  # fmt: skip
def test_terms_that_leave_no_room_to_renew_are_refused(terms: Terms, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        terms.check()
