# A simulated cabinet board with the interface of board_esp32.py, for the MicroPython unix
# port, CPython and the simulator. Its switches and sensors are set by lines on stdin
# ("door 1", "aed 0", "temp -35", "pulse 20") or directly by the simulator.

import asyncio
import select
import sys
import time

import cabinet

try:
    from time import ticks_ms as _ticks_ms  # MicroPython
except ImportError:

    def _ticks_ms():
        # CPython: the same 30-bit wrapping millisecond counter as the ESP32
        return (getattr(time, "monotonic_ns")() // 1000000) % (1 << 30)


try:
    import gc

    _free = gc.mem_free
except AttributeError:

    def _free():
        return 90000


def _epoch_ms():
    return time.time_ns() // 1000000


class Board:
    def __init__(self, hold_ms=50, clock=_epoch_ms, ticks=_ticks_ms, commands=True):
        self.levels = {"door": False, "aed": True, "maint": False, "mains": True, "tamper": False}
        self.temp = 215
        self.battery_mv = 12800
        self.humidity = None
        self.heater = False
        self.led = False
        self.buzzer = False
        self.signal_dbm = -60
        self.synced = True
        self.stable = False
        self.cause = "power_on"
        self.slept = None
        self._clock = clock
        self._ticks = ticks
        self._hold_ms = hold_ms
        self._script = []  # (ticks when due, input, level) for pulses
        self._edges = []  # latched (input, level, ticks), like the ESP32's pin interrupts
        self._last_edge = None  # ticks of the newest latched edge
        self._edge = asyncio.Event()  # a switch changed: like the door IRQ on the ESP32
        self._poll = None
        if commands:
            self._poll = select.poll()
            self._poll.register(sys.stdin, select.POLLIN)

    # --- the board interface -----------------------------------------------------------

    def ticks_ms(self):
        return self._ticks()

    def epoch_ms(self):
        return self._clock()

    def clock_synced(self):
        return self.synced

    async def sync_clock(self):
        return self.synced

    def read_inputs(self):
        self._read_commands()
        return self.levels

    def edges(self):
        """The switch changes latched since the last call, oldest first."""
        self._read_commands()
        if not self._edges:
            return ()  # nothing new: no allocation on the hot path
        edges, self._edges = self._edges, []
        return edges

    def battery_uv(self):
        # the ADC sees the divided voltage: 100k over 22k, ratio 5.545
        return (self.battery_mv * 1000000 + 5544) // 5545

    def temp_dc(self):
        return self.temp

    def humidity_pct(self):
        return self.humidity

    def set_heater(self, on):
        self.heater = on

    def set_led(self, on):
        self.led = on

    def set_buzzer(self, on):
        self.buzzer = on

    def rssi(self):
        return self.signal_dbm

    def free_mem(self):
        return _free()

    def feed_watchdog(self):
        pass

    def mark_stable(self):
        self.stable = True

    def reset_cause(self):
        return self.cause

    async def network_up(self):
        return True

    async def sensors_ready(self):
        pass

    def reset(self):
        raise SystemExit(1)  # the process ends; whoever runs it starts it again

    async def wait_input(self, timeout_ms):
        # a switch change ends the wait at once, and the next poll comes as soon as the
        # debouncer can accept the newest edge, whatever the polling pace
        if self._last_edge is not None:
            settles = cabinet.ticks_add(self._last_edge, self._hold_ms)
            settles_in = cabinet.ticks_diff(settles, self._ticks()) + 1
            if settles_in > 0:
                timeout_ms = min(timeout_ms, settles_in)
        try:
            await asyncio.wait_for(self._edge.wait(), timeout_ms / 1000)
        except asyncio.TimeoutError:
            pass
        self._edge.clear()

    def deep_sleep(self, sleep_ms, door_wake_level):
        self.slept = (sleep_ms, door_wake_level)

    # --- the simulated hardware --------------------------------------------------------

    def set_input(self, name, level, ticks=None):
        """A clean switch change (a simulated switch does not bounce): latched at once, so a
        change that reverts before the firmware reads it is still delivered, in order. Edges
        are stamped at least a debounce time apart, so the debouncer takes each as held."""
        if self.levels[name] == level:
            return
        self.levels[name] = level
        stamp = self._ticks() if ticks is None else ticks
        if self._last_edge is not None:
            earliest = cabinet.ticks_add(self._last_edge, self._hold_ms)
            if cabinet.ticks_diff(earliest, stamp) > 0:
                stamp = earliest
        self._last_edge = stamp
        self._edges.append((name, level, stamp))
        self._edge.set()

    def _read_commands(self):
        now = self._ticks()
        while self._script and self._script[0][0] - now <= 0:
            due, name, level = self._script.pop(0)
            self.set_input(name, level, due)
        if self._poll is None:
            return
        while self._poll.poll(0):
            line = sys.stdin.readline()
            if not line:
                self._poll = None  # stdin closed
                return
            self.command(line.split())

    def command(self, words):
        """Apply one simulator command; unknown ones are reported, never fatal."""
        if len(words) != 2:
            print("sim: ignored", words)
            return
        name, value = words[0], int(words[1])
        if name in self.levels:
            self.set_input(name, bool(value))
        elif name == "temp":
            self.temp = value
        elif name == "batt":
            self.battery_mv = value
        elif name == "pulse":
            # open and close the door `value` times, each level held past the debounce
            step = self._hold_ms * 3
            start = self._ticks()
            for index in range(value):
                self._script.append((start + step * (2 * index + 1), "door", True))
                self._script.append((start + step * (2 * index + 2), "door", False))
        else:
            print("sim: ignored", words)
