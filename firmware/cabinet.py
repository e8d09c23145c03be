# Pure cabinet logic: debounce, state machine, heater, expiry and battery arithmetic.
# Runs unchanged under MicroPython (ESP32 and unix port) and CPython: no typing, dataclasses
# or enum at run time, integer units only, and every time is passed in by the caller.

TICKS_PERIOD = 1 << 30  # the ESP32's ticks_ms wraps here (about 12.4 days)
_HALF_PERIOD = TICKS_PERIOD >> 1
EPOCH_2000_S = 946684800  # ESP32 MicroPython counts seconds from 2000-01-01


def ticks_add(ticks, delta):
    return (ticks + delta) % TICKS_PERIOD


def ticks_diff(newer, older):
    # signed difference that stays right across one wraparound, like time.ticks_diff
    return ((newer - older + _HALF_PERIOD) % TICKS_PERIOD) - _HALF_PERIOD


class Debouncer:
    """A switch fed with its latched edges (level, ticks), as the pin interrupt saw them. A level
    counts once it held for `hold_ms`, from its edge to the next edge or to now: a pulse that
    came and went between two reads still counts, in order; contact bounce does not."""

    def __init__(self, level, hold_ms):
        self.level = level
        self._hold_ms = hold_ms
        self._pending = None  # the level of the last edge, not yet accepted
        self._since = 0

    def edge(self, level, ticks):
        """A new edge; returns (level, ticks of its edge) when the previous edge's level just
        counted (it held until this one), else None."""
        accepted = self.settle(ticks)
        self._pending = level
        self._since = ticks
        return accepted

    def settle(self, now_ticks):
        """Returns (level, ticks of its edge) when the last edge's level has now held long
        enough and differs from the accepted level, else None."""
        if self._pending is None or ticks_diff(now_ticks, self._since) < self._hold_ms:
            return None
        level, self._pending = self._pending, None
        if level == self.level:
            return None
        self.level = level
        return level, self._since


class Cabinet:
    """The cabinet's state machine. Inputs are debounced levels; outputs are events as
    (name, extra fields dict). Durations come from the ticks clock, which an NTP step cannot
    move; `ages` and `restore` carry them across deep sleep, when ticks start again."""

    def __init__(self, door_open, aed_present, mains, now_ticks):
        self.door_open = door_open
        self.aed_present = aed_present
        self.mains = mains
        self.maintenance = False
        self._door_since = now_ticks
        self._aed_since = now_ticks
        self._maint_since = now_ticks

    def door(self, is_open, now_ticks):
        if is_open == self.door_open:
            return []
        self.door_open = is_open
        if is_open:
            self._door_since = now_ticks
            return [("door_open", {})]
        return [("door_close", {"open_s": _seconds(ticks_diff(now_ticks, self._door_since))})]

    def aed(self, present, now_ticks):
        if present == self.aed_present:
            return []
        self.aed_present = present
        if not present:
            self._aed_since = now_ticks
            return [("aed_removed", {})]
        return [("aed_returned", {"out_s": _seconds(ticks_diff(now_ticks, self._aed_since))})]

    def maintenance_key(self, turned_on, now_ticks):
        if turned_on == self.maintenance:
            return []
        self.maintenance = turned_on
        if turned_on:
            self._maint_since = now_ticks
            return [("maint_enter", {})]
        return [("maint_exit", {"dur_s": _seconds(ticks_diff(now_ticks, self._maint_since))})]

    def mains_power(self, present):
        if present == self.mains:
            return []
        self.mains = present
        return [("mains_restored", {})] if present else [("mains_lost", {})]

    def ages(self, now_ticks):
        """What to keep across deep sleep: the states and how long each has lasted (ms)."""
        return {
            "door": self.door_open,
            "aed": self.aed_present,
            "maint": self.maintenance,
            "door_ms": ticks_diff(now_ticks, self._door_since),
            "aed_ms": ticks_diff(now_ticks, self._aed_since),
            "maint_ms": ticks_diff(now_ticks, self._maint_since),
        }

    def restore(self, ages, slept_ms, now_ticks):
        """After deep sleep: the states before it, their ages grown by the time asleep."""
        self.door_open = ages["door"]
        self.aed_present = ages["aed"]
        self.maintenance = ages["maint"]
        self._door_since = ticks_add(now_ticks, -(ages["door_ms"] + slept_ms))
        self._aed_since = ticks_add(now_ticks, -(ages["aed_ms"] + slept_ms))
        self._maint_since = ticks_add(now_ticks, -(ages["maint_ms"] + slept_ms))


def _seconds(ms):
    return max(0, ms) // 1000


class Heater:
    """On at or below `on_dc`, off at or above `off_dc`, unchanged in between (hysteresis)."""

    def __init__(self, on_dc=50, off_dc=100):
        if on_dc >= off_dc:
            raise ValueError("heater: on threshold must be below off threshold")
        self.on_dc = on_dc
        self.off_dc = off_dc
        self.on = False

    def update(self, temp_dc):
        if temp_dc is None:
            self.on = False  # no reading: never heat blind
        elif temp_dc <= self.on_dc:
            self.on = True
        elif temp_dc >= self.off_dc:
            self.on = False
        return self.on


def battery_mv(adc_uv, divider_ratio_milli, offset_mv=0):
    """Backup-battery millivolts from the ADC pin's microvolts.

    divider_ratio_milli is (R1 + R2) / R2 times 1000, e.g. 100k over 22k: 5545.
    """
    return (adc_uv * divider_ratio_milli) // 1000000 + offset_mv


def days_from_civil(year, month, day):
    # days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm)
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def parse_date(text):
    """'YYYY-MM-DD' to (year, month, day); ValueError when it is not a real date."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError("date must be YYYY-MM-DD: " + text)
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    if not 1 <= month <= 12:
        raise ValueError("no such month: " + text)
    next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    length = days_from_civil(next_month[0], next_month[1], 1) - days_from_civil(year, month, 1)
    if not 1 <= day <= length:
        raise ValueError("no such day: " + text)
    return year, month, day


class Schedule:
    """When telemetry is due, on the ticks clock (wraparound-safe)."""

    def __init__(self, interval_ms, now_ticks):
        self.interval_ms = interval_ms
        self._next = now_ticks  # the first telemetry goes out at boot

    def due(self, now_ticks):
        if ticks_diff(now_ticks, self._next) >= 0:
            self._next = ticks_add(now_ticks, self.interval_ms)
            return True
        return False


def wake_plan(door_open, now_ms, heartbeat_ms):
    """For deep sleep: wake at the next heartbeat, or when the door pin leaves its current
    level. Waking on the opposite level means a door left open cannot cause a wake loop."""
    return {"wake_ms": now_ms + heartbeat_ms, "wake_on_door_level": 0 if door_open else 1}
