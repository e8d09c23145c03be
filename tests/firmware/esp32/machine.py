# Stand-in for the ESP32 port's `machine` (never flashed), after the MicroPython docs:
# quickref for ESP32 (docs.micropython.org/en/latest/esp32/quickref.html: Pin, ADC, RTC memory,
# deep sleep, WDT), library/machine.html and library/machine.WDT.html, and the reset causes
# micropython/micropython#6003 lists. What hurts in the field is imitated:
# - deepsleep() ends the program; the next start runs boot.py again and sees DEEPSLEEP_RESET;
#   RTC memory survives deep sleep and resets but not a power cycle;
# - a WDT cannot be stopped once started (no deinit), and resets the board when not fed;
# - a brown-out comes back as a power-on reset (the ESP32 port has no BROWNOUT_RESET:
#   micropython/micropython#7771), so RTC memory is gone after it;
# - a pin IRQ handler (soft, the default) runs after the edge, when the scheduler gets to it
#   (docs: reference/isr_rules.html); it reads the level at that moment, not the edge's.
# Pin levels come from the test's script: ["pin", number, level] at a world time.

import esp32world

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
_OUTPUTS = {}  # pin number -> level driven by the firmware


def reset_cause():
    return esp32world.NVRAM["cause"]


def reset():
    esp32world.reset(HARD_RESET, "machine.reset")


def soft_reset():
    esp32world.reset(SOFT_RESET, "machine.soft_reset")


def deepsleep(ms=0):
    esp32world.log("deepsleep", ms=ms, outputs=dict((str(k), v) for k, v in _OUTPUTS.items()))
    wake = esp32world.world_ms() + ms if ms else None
    esp32world.NVRAM["sleep_until"] = wake
    esp32world.save(DEEPSLEEP_RESET)
    raise SystemExit(0)


def lightsleep(ms=0):
    esp32world.advance(ms)


def freq(hz=None):
    return 160000000


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2
    _irqs = {}  # pin number -> (trigger, handler, Pin)

    def __init__(self, number, mode=-1, pull=-1, value=None):
        self._number = number
        self._mode = mode
        if value is not None:
            self.value(value)

    def value(self, level=None):
        if level is None:
            if self._number in _OUTPUTS and self._mode == Pin.OUT:
                return _OUTPUTS[self._number]
            scripted = esp32world.state("pin", self._number)
            return 1 if scripted is None else scripted
        level = 1 if level else 0
        if _OUTPUTS.get(self._number) != level:
            _OUTPUTS[self._number] = level
            esp32world.log("output", pin=self._number, level=level)
        return None

    def __call__(self, level=None):
        return self.value(level)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, hard=False):
        Pin._irqs[self._number] = (trigger, handler, self)

    @staticmethod
    def _script(what, args):
        if what != "pin":
            return
        number, level = args[0], args[1]
        if number not in Pin._irqs:
            return
        trigger, handler, pin = Pin._irqs[number]
        edge = Pin.IRQ_RISING if level else Pin.IRQ_FALLING
        if handler is not None and trigger & edge:
            handler(pin)


esp32world.listen(Pin._script)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self._pin = pin

    def atten(self, value):
        self._atten = value

    def read_uv(self):
        scripted = esp32world.state("adc_uv", self._pin._number)
        return 2308386 if scripted is None else scripted


class RTC:
    # 2 KB of RTC slow memory on the ESP32: kept through deep sleep and resets, not power loss
    def memory(self, data=None):
        if data is None:
            return bytes.fromhex(esp32world.NVRAM.get("rtc_memory") or "")
        if len(data) > 2048:
            raise ValueError("RTC memory holds 2048 bytes")
        esp32world.NVRAM["rtc_memory"] = bytes(data).hex()
        return None

    def datetime(self, value=None):
        import time  # noqa: PLC0415

        if value is None:
            return time.localtime()
        year, month, day, _weekday, hour, minute, second = value[:7]
        seconds = time.mktime((year, month, day, hour, minute, second, 0, 0))
        time.set_rtc_ms(seconds * 1000)
        return None


class WDT:
    """Once started it cannot be stopped or reconfigured (docs: machine.WDT)."""

    def __init__(self, id=0, timeout=5000):
        import time  # noqa: PLC0415

        self._state = [timeout, time.ticks_ms()]
        esp32world.watch(self._state)
        esp32world.log("wdt", timeout=timeout)

    def feed(self):
        import time  # noqa: PLC0415

        self._state[1] = time.ticks_ms()


def disable_irq():
    return 1


def enable_irq(state):
    return None
