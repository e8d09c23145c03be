"""`fold_telemetry` says whether a fact the rules watch moved, without copying them before and
after: for any run of messages (stale, unsynced, status changes between them), its answer is
exactly whether those facts differ before and after the fold."""

from __future__ import annotations

import datetime

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from aedfleet.alerts.state import CabinetState, fold, fold_telemetry
from aedfleet.collector import protocol as p
from tests.alerts.test_engine import CAB, T0, telemetry


def watched(s: CabinetState) -> tuple[object, ...]:
    """What the engine must look at again whenever it changes."""
    return (s.door_open, s.aed_present, s.maintenance, s.mains, s.heater, s.status,
            s.pad_exp, s.batt_exp)  # fmt: skip


dates = st.sampled_from([None, datetime.date(2027, 5, 1), datetime.date(2028, 1, 1)])
telemetry_messages = st.builds(
    lambda ts, sync, door, aed, maint, mains, heater, pad, batt: msgspec.structs.replace(
        telemetry(T0 + ts * 1000, door=door, aed=aed, maint=maint, mains=mains, heater=heater),
        sync=sync,
        pad_exp=pad,
        batt_exp=batt,
    ),
    st.integers(0, 20), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
    st.booleans(), st.booleans(), dates, dates,
)  # fmt: skip
status_messages = st.builds(
    lambda ts, offline: (p.Offline if offline else p.Online)(
        v=1, id=CAB, seq=1, ts=T0 + ts * 1000, sync=True, **({} if offline else {"fw": "1.0.0"})
    ),
    st.integers(0, 20),
    st.booleans(),
)


@settings(max_examples=400)
@given(st.lists(st.one_of(telemetry_messages, status_messages), min_size=1, max_size=12))
def test_changed_is_exactly_whether_a_watched_fact_moved(messages: list[p.DeviceMessage]) -> None:
    state = CabinetState(CAB)
    for at, message in enumerate(messages):
        before = watched(state)
        if isinstance(message, p.Telemetry):
            changed = fold_telemetry(state, message, T0 + at)
            assert changed == (before != watched(state))
        else:
            fold(state, message, T0 + at)


def test_the_moments_a_condition_began_are_kept() -> None:
    state = CabinetState(CAB)
    fold_telemetry(state, telemetry(T0, door=True, aed=False, heater=True), T0 + 5)
    assert (state.door_open_since_ms, state.aed_removed_since_ms) == (T0, T0)
    assert state.heater_on_since_ms == T0
    assert not fold_telemetry(state, telemetry(T0 + 1000, door=True, aed=False, heater=True), T0)
    assert (state.door_open_since_ms, state.aed_removed_since_ms) == (T0, T0)
    assert state.last_seen_ms == T0 + 5
