# Stand-in for the ESP32's `time` (never flashed): ticks restart at every reset, the RTC clock
# keeps its value through deep sleep and is lost on power-off (it then counts from the epoch),
# and a blocking sleep lets the world's time pass. Follows the MicroPython docs of `time`
# (docs.micropython.org/en/latest/library/time.html) and the ESP32 quick reference's RTC.
# utime is the unix port's own module; this file shadows `time` only for the firmware's tests.

import esp32world
from utime import gmtime as _gmtime
from utime import localtime as _localtime
from utime import mktime, ticks_add, ticks_cpu, ticks_diff, ticks_us  # noqa: F401

ticks_ms = esp32world.ticks_ms


def _rtc_ms():
    set_at, value = esp32world.NVRAM.get("rtc") or [esp32world.NVRAM.get("power_on_ms", 0), 0]
    return value + esp32world.world_ms() - set_at


def set_rtc_ms(value):
    esp32world.NVRAM["rtc"] = [esp32world.world_ms(), value]


def time():
    return _rtc_ms() // 1000


def time_ns():
    return _rtc_ms() * 1000000


def gmtime(secs=None):
    return _gmtime(time() if secs is None else secs)


def localtime(secs=None):
    return _localtime(time() if secs is None else secs)


def sleep_ms(ms):
    esp32world.advance(ms)


def sleep(seconds):
    esp32world.advance(int(seconds * 1000))
