# Stand-in for the ESP32 port's `esp32` module (never flashed), after
# docs.micropython.org/en/latest/library/esp32.html: wake_on_ext0(pin, level) with level
# esp32.WAKEUP_ALL_LOW or esp32.WAKEUP_ANY_HIGH; the wake-up source is recorded so the test can
# see on which door level a sleeping cabinet wakes.

import esp32world

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def wake_on_ext0(pin, level):
    esp32world.NVRAM["wake_ext0"] = [pin._number, 1 if level else 0]


def wake_on_ext1(pins, level):
    esp32world.NVRAM["wake_ext1"] = [[pin._number for pin in pins], 1 if level else 0]
