# Firmware core tests: plain asserts, run by pytest under CPython and by run_micropython.py
# under the real MicroPython unix port.

import cabinet


def test_ticks_diff_across_the_esp32_wraparound():
    just_before = cabinet.TICKS_PERIOD - 10
    after = cabinet.ticks_add(just_before, 30)
    assert after == 20
    assert cabinet.ticks_diff(after, just_before) == 30
    assert cabinet.ticks_diff(just_before, after) == -30


def test_debounce_ignores_contact_bounce_and_accepts_a_held_level():
    switch = cabinet.Debouncer(False, hold_ms=50)
    start = cabinet.TICKS_PERIOD - 20  # across the wraparound too
    for step in range(10):  # bouncing every 5 ms, ending closed-open... open
        assert switch.edge(step % 2 == 0, cabinet.ticks_add(start, step * 5)) is None
    assert switch.edge(True, cabinet.ticks_add(start, 100)) is None
    assert switch.settle(cabinet.ticks_add(start, 149)) is None
    assert switch.settle(cabinet.ticks_add(start, 150)) == (True, cabinet.ticks_add(start, 100))
    assert switch.level is True
    assert switch.settle(cabinet.ticks_add(start, 400)) is None


def test_a_pulse_between_two_reads_still_counts_in_order():
    # both edges latched before the firmware looks: open at 1000, shut at 1060
    switch = cabinet.Debouncer(False, hold_ms=50)
    assert switch.edge(True, 1000) is None
    assert switch.edge(False, 1060) == (True, 1000)
    assert switch.settle(1070) is None
    assert switch.settle(1110) == (False, 1060)


def test_a_level_that_returns_to_where_it_was_is_no_change():
    switch = cabinet.Debouncer(True, hold_ms=50)
    assert switch.edge(True, 0) is None
    assert switch.settle(100) is None and switch.level is True


def test_door_open_and_close_report_how_long_it_was_open():
    state = cabinet.Cabinet(False, True, True, now_ticks=1000)
    assert state.door(True, 5000) == [("door_open", {})]
    assert state.door(True, 6000) == []
    assert state.door(False, 100000) == [("door_close", {"open_s": 95})]


def test_aed_removed_and_returned_40_minutes_later():
    state = cabinet.Cabinet(False, True, True, now_ticks=0)
    assert state.aed(False, 1000) == [("aed_removed", {})]
    assert state.aed(True, 1000 + 2400000) == [("aed_returned", {"out_s": 2400})]


def test_durations_survive_deep_sleep_and_an_ntp_step():
    state = cabinet.Cabinet(False, True, True, now_ticks=cabinet.TICKS_PERIOD - 500)
    state.door(True, cabinet.TICKS_PERIOD - 500)
    kept = state.ages(cabinet.ticks_add(cabinet.TICKS_PERIOD - 500, 20000))  # 20 s open
    woken = cabinet.Cabinet(False, True, True, now_ticks=300)  # ticks start again
    woken.restore(kept, 60000, 300)  # asleep a minute
    assert woken.door_open
    assert woken.door(False, 300 + 10000) == [("door_close", {"open_s": 90})]


def test_maintenance_key_and_mains():
    state = cabinet.Cabinet(False, True, True, now_ticks=0)
    assert state.maintenance_key(True, 0) == [("maint_enter", {})]
    assert state.maintenance
    assert state.maintenance_key(False, 600000) == [("maint_exit", {"dur_s": 600})]
    assert state.mains_power(False) == [("mains_lost", {})]
    assert state.mains_power(True) == [("mains_restored", {})]


def test_heater_hysteresis_holds_between_thresholds():
    heater = cabinet.Heater(on_dc=50, off_dc=100)
    readings = [120, 60, 50, 70, 99, 100, 80, 51, 49]
    states = [heater.update(t) for t in readings]
    assert states == [False, False, True, True, True, False, False, False, True]
    assert heater.update(None) is False


def test_heater_refuses_inverted_thresholds():
    try:
        cabinet.Heater(on_dc=100, off_dc=50)
    except ValueError:
        return
    raise AssertionError("inverted thresholds accepted")


def test_battery_millivolts_from_adc_microvolts():
    # 12.8 V through 100k over 22k is 2.308 V at the pin
    assert cabinet.battery_mv(2308386, 5545) == 12800
    assert cabinet.battery_mv(2308386, 5545, offset_mv=40) == 12840


def test_dates_that_do_not_exist_are_refused():
    for text in ("2027-02-29", "2027-13-01", "2027-04-31", "27-03-01", "2027/03/01"):
        try:
            cabinet.parse_date(text)
        except ValueError:
            continue
        raise AssertionError("accepted " + text)
    assert cabinet.parse_date("2028-02-29") == (2028, 2, 29)


def test_schedule_fires_at_boot_then_every_interval_across_wraparound():
    start = cabinet.TICKS_PERIOD - 1000
    schedule = cabinet.Schedule(300000, start)
    assert schedule.due(start)
    assert not schedule.due(cabinet.ticks_add(start, 299999))
    assert schedule.due(cabinet.ticks_add(start, 300000))


def test_deep_sleep_never_wakes_on_a_door_left_open():
    assert cabinet.wake_plan(True, 1000, 3600000) == {"wake_ms": 3601000, "wake_on_door_level": 0}
    assert cabinet.wake_plan(False, 0, 60000)["wake_on_door_level"] == 1
