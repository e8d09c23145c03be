# Stand-in for the ESP32 port's `esp32` module (never flashed), after
# docs.micropython.org/en/latest/library/esp32.html and the IDF's esp_sleep_enable_ext0_wakeup
# (level 0 = low, 1 = high); WAKEUP_ALL_LOW / WAKEUP_ANY_HIGH (False / True) are ext1's modes.
# The wake-up source is recorded so the test sees on which door level a sleeping cabinet wakes.

import esp32world

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def wake_on_ext0(pin, level):
    esp32world.NVRAM["wake_ext0"] = [pin._number, 1 if level else 0]


def wake_on_ext1(pins, level):
    esp32world.NVRAM["wake_ext1"] = [[pin._number for pin in pins], 1 if level else 0]
