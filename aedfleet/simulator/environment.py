"""What a simulated cabinet's sensors read: the weather outside, the cabinet's insulation and
heater, its backup battery and its Wi-Fi signal. Pure: every reading is a function of the
simulated time, the heater's state and a seeded random source, so a seed repeats a run."""

from __future__ import annotations

import math
import random
from typing import Final

DAY_MS: Final = 86_400_000
TIME_CONSTANT_MS: Final = 20 * 60_000  # how fast the cabinet follows its surroundings
HEATER_GAIN_C: Final = 25.0  # a working heater can hold the cabinet this far above the outside
HEATED_C: Final = 7.5  # where the firmware's heater (on below 5 °C, off above 10 °C) keeps it
INDOOR_C: Final = 20.0
NUMERIC: Final = ("outside_c", "batt_v", "rssi_dbm")


class Environment:
    def __init__(
        self,
        rng: random.Random,
        *,
        indoor: bool,
        start_ms: int,
        utc_offset_min: int = 480,
        mean_c: float = 5.0,
        swing_c: float = 5.0,
    ) -> None:
        self._rng = rng
        self.indoor = indoor
        self._utc_offset_ms = utc_offset_min * 60_000
        self._mean_c = mean_c + rng.uniform(-1.0, 1.0)
        self._swing_c = swing_c
        # numeric readings a scenario can set or ramp: name -> (from, to, start_ms, end_ms)
        self._ramps: dict[str, tuple[float, float, int, int]] = {
            "outside_c": (0.0, 0.0, start_ms, start_ms),  # added to the day's weather
            "batt_v": (12.8, 12.8, start_ms, start_ms),
            "rssi_dbm": (float(rng.randint(-75, -55)),) * 2 + (start_ms, start_ms),
        }
        self.heater_works = True
        self.sensor_works = True
        # a cabinet that has been running: its heater already holds it out of the frost
        self._temp_c = max(self._surroundings_c(start_ms, heater_on=False), HEATED_C)
        self._temp_ms = start_ms

    # --- what a scenario changes ---------------------------------------------------------

    def ramp(self, name: str, target: float, start_ms: int, end_ms: int) -> None:
        """Move reading `name` in a straight line to `target` between the two times."""
        if name not in NUMERIC:
            raise ValueError(f"unknown reading {name!r}; known: {', '.join(NUMERIC)}")
        self._ramps[name] = (self.value(name, start_ms), target, start_ms, max(start_ms, end_ms))

    def value(self, name: str, at_ms: int) -> float:
        start_value, end_value, start_ms, end_ms = self._ramps[name]
        if at_ms >= end_ms:
            return end_value
        if at_ms <= start_ms:
            return start_value
        return start_value + (end_value - start_value) * (at_ms - start_ms) / (end_ms - start_ms)

    # --- what the sensors read ----------------------------------------------------------

    def outside_c(self, at_ms: int) -> float:
        """A day's weather: coldest at 05:00 local time, warmest at 17:00."""
        local_hour = ((at_ms + self._utc_offset_ms) % DAY_MS) / 3_600_000
        daily = -math.cos((local_hour - 5) / 24 * 2 * math.pi)
        return self._mean_c + self._swing_c * daily + self.value("outside_c", at_ms)

    def _surroundings_c(self, at_ms: int, *, heater_on: bool) -> float:
        base = max(INDOOR_C, self.outside_c(at_ms)) if self.indoor else self.outside_c(at_ms)
        return base + (HEATER_GAIN_C if heater_on and self.heater_works else 0.0)

    def temperature_dc(self, at_ms: int, heater_on: bool) -> int | None:
        """The cabinet's temperature in tenths of a degree, or None from a failed sensor."""
        target = self._surroundings_c(at_ms, heater_on=heater_on)
        elapsed = max(0, at_ms - self._temp_ms)
        self._temp_c += (target - self._temp_c) * (1 - math.exp(-elapsed / TIME_CONSTANT_MS))
        self._temp_ms = max(self._temp_ms, at_ms)
        if not self.sensor_works:
            return None
        return round((self._temp_c + self._rng.uniform(-0.1, 0.1)) * 10)

    def battery_mv(self, at_ms: int) -> int:
        return round(self.value("batt_v", at_ms) * 1000)

    def rssi(self, at_ms: int) -> int:
        return round(self.value("rssi_dbm", at_ms)) + self._rng.randint(-2, 2)
