# The ESP32 board: pins, ADC, DS18B20, heater relay, LED, buzzer, RTC memory, watchdog, NTP,
# Wi-Fi and deep sleep. Wiring and calibration are in firmware/README.md; pin numbers come from
# the config. Inputs are pulled up and switched to ground; each has an interrupt on both edges
# that latches the change, so a switch that changes and reverts while the loop is busy (a TLS
# handshake, a flash write) is still seen, in order.

import asyncio
import gc
import socket
import struct
import time

import cabinet
import ds18x20
import esp32
import machine
import network
import onewire

# MicroPython on the ESP32 may count from 2000-01-01; the protocol counts from 1970
_EPOCH_OFFSET_MS = cabinet.EPOCH_2000_S * 1000 if time.gmtime(0)[0] == 2000 else 0
_RESET_CAUSES = {
    machine.PWRON_RESET: "power_on",  # a brown-out comes back as this too
    machine.HARD_RESET: "hard",
    machine.WDT_RESET: "watchdog",
    machine.DEEPSLEEP_RESET: "deep_sleep",
    machine.SOFT_RESET: "soft",
}
CONVERSION_MS = 750  # DS18B20 at 12 bits
NTP_WAIT_MS = 1000
NTP_1900_TO_1970_S = 2208988800
WIFI_ATTEMPT_MS = 10000
EDGES_KEPT = 64  # latched edges waiting for the loop; more than this in one pass is noise
BATTERY_SAMPLES = 8
# levels that mean "active" for each input (see the wiring table in the README)
_ACTIVE = {"door": 1, "aed": 0, "maint": 0, "mains": 0, "tamper": 1}


class Board:
    def __init__(self, config):
        self._config = config
        self._edges = []
        self._last_level = {}
        self._wake = asyncio.ThreadSafeFlag()
        self._pins = {}
        for name in _ACTIVE:
            pin = machine.Pin(config["pin_" + name], machine.Pin.IN, machine.Pin.PULL_UP)
            self._pins[name] = pin
            self._last_level[name] = pin.value()
            pin.irq(
                trigger=machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING,
                handler=self._latch_handler(name),
            )
        self._heater = machine.Pin(config["pin_heater"], machine.Pin.OUT, value=0)
        self._led = machine.Pin(config["pin_led"], machine.Pin.OUT, value=0)
        self._buzzer = machine.Pin(config["pin_buzzer"], machine.Pin.OUT, value=0)
        # ATTN_11DB: the ADC reads up to about 2.45 V accurately (read_uv is calibrated); the
        # divider puts a full 13.6 V battery at 2.45 V
        self._battery = machine.ADC(machine.Pin(config["pin_battery"]))
        self._battery.atten(machine.ADC.ATTN_11DB)
        self._sensor = ds18x20.DS18X20(onewire.OneWire(machine.Pin(config["pin_onewire"])))
        self._roms = []
        self._converted_at = None  # ticks when the running conversion started
        self._temp = None
        self._start_conversion()
        self._wlan = network.WLAN(network.STA_IF)
        self._synced = False
        self._ntp_address = None
        self._watchdog = machine.WDT(timeout=config["wdt_ms"])

    # --- switches ------------------------------------------------------------------------

    def _latch_handler(self, name):
        def handler(pin):
            # a soft IRQ runs a little after its edge: two in a row that read the same level
            # mean the level went the other way and back in between
            level = pin.value()
            now = time.ticks_ms()
            if level == self._last_level[name]:
                self._latch(name, 1 - level, now)
            self._latch(name, level, now)
            self._wake.set()

        return handler

    def _latch(self, name, level, now):
        self._last_level[name] = level
        if len(self._edges) < EDGES_KEPT:
            self._edges.append((name, level == _ACTIVE[name], now))

    def read_inputs(self):
        return {name: pin.value() == _ACTIVE[name] for name, pin in self._pins.items()}

    def edges(self):
        """The switch changes latched since the last call, oldest first."""
        if not self._edges:
            return ()  # nothing new: no allocation on the hot path
        state = machine.disable_irq()
        edges, self._edges = self._edges, []
        machine.enable_irq(state)
        return edges

    async def wait_input(self, timeout_ms):
        # an edge on any input ends the wait at once; otherwise poll at the configured pace
        try:
            await asyncio.wait_for_ms(self._wake.wait(), timeout_ms)
        except asyncio.TimeoutError:
            pass

    # --- clock ---------------------------------------------------------------------------

    def ticks_ms(self):
        return time.ticks_ms()

    def epoch_ms(self):
        return time.time_ns() // 1000000 + _EPOCH_OFFSET_MS

    def clock_synced(self):
        return self._synced

    async def sync_clock(self):
        """SNTP (RFC 4330) on a UDP socket the loop waits on, so the switches, buzzer and
        watchdog keep running meanwhile (ntptime would block for up to its timeout). DNS,
        which blocks, runs only when the server's address is not known yet."""
        try:
            if self._ntp_address is None:
                found = socket.getaddrinfo(self._config["ntp_host"], self._config["ntp_port"])
                self._ntp_address = found[0][-1]
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                query = bytearray(48)
                query[0] = 0x1B  # version 3, client
                udp.sendto(query, self._ntp_address)
                reading = asyncio.StreamReader(udp).read(48)
                answer = await asyncio.wait_for_ms(reading, NTP_WAIT_MS)  # type: bytes
            finally:
                udp.close()
            if len(answer) < 48:
                raise OSError("short NTP answer")
            seconds = struct.unpack("!I", answer[40:44])[0] - NTP_1900_TO_1970_S
            moment = time.gmtime(seconds - _EPOCH_OFFSET_MS // 1000)
            machine.RTC().datetime(
                (moment[0], moment[1], moment[2], moment[6] + 1, moment[3], moment[4], moment[5], 0)
            )
            self._synced = True
        except (OSError, asyncio.TimeoutError, IndexError):
            self._ntp_address = None  # resolve again next time; keep the flag as it was
        return self._synced

    # --- sensors and outputs -------------------------------------------------------------

    def battery_uv(self):
        total = 0
        for _ in range(BATTERY_SAMPLES):
            total += self._battery.read_uv()
        return total // BATTERY_SAMPLES

    def _start_conversion(self):
        try:
            if not self._roms:
                self._roms = self._sensor.scan()  # a replaced sensor has a new address
            if self._roms:
                self._sensor.convert_temp()
                self._converted_at = time.ticks_ms()
                return
        except Exception:  # OneWireError, CRC: the bus is checked again next time
            self._roms = []
        self._converted_at = None

    async def sensors_ready(self):
        """Wait for the conversion started at power-up, so the first reading is real."""
        if self._converted_at is not None:
            left = CONVERSION_MS - time.ticks_diff(time.ticks_ms(), self._converted_at)
            if left > 0:
                await asyncio.sleep_ms(left)

    def temp_dc(self):
        """The latest temperature in 0.1 °C, or None while the sensor does not answer. Reads
        the conversion started last time once it had its 750 ms, then starts the next."""
        started = self._converted_at
        if started is not None and time.ticks_diff(time.ticks_ms(), started) < CONVERSION_MS:
            return self._temp
        self._temp = None
        if started is not None:
            try:
                self._temp = int(self._sensor.read_temp(self._roms[0]) * 10)
            except Exception:  # OneWireError, CRC: lost for now, rescanned below
                self._roms = []
        self._start_conversion()
        return self._temp

    def humidity_pct(self):
        return None  # no humidity sensor on this board

    def set_heater(self, on):
        self._heater.value(1 if on else 0)

    def set_led(self, on):
        self._led.value(1 if on else 0)

    def set_buzzer(self, on):
        self._buzzer.value(1 if on else 0)

    def rssi(self):
        try:
            return max(-127, min(0, self._wlan.status("rssi")))
        except OSError:
            return -127

    def free_mem(self):
        gc.collect()
        return gc.mem_free()

    # --- watchdog, resets, safe boot -----------------------------------------------------

    def feed_watchdog(self):
        self._watchdog.feed()

    def mark_stable(self):
        memory = machine.RTC().memory()
        machine.RTC().memory(bytes([0]) + memory[1:])  # boot.py's crash counter

    def reset_cause(self):
        return _RESET_CAUSES.get(machine.reset_cause(), "unknown")

    def reset(self):
        machine.reset()

    # --- Wi-Fi and deep sleep ------------------------------------------------------------

    async def network_up(self):
        """True once joined. Like mqtt_as: never connect() while an attempt runs (the ESP32
        raises 'Wifi Internal Error'), end a timed-out attempt with disconnect()."""
        wlan = self._wlan
        try:
            if wlan.isconnected():
                return True
            wlan.active(True)
            if wlan.status() != network.STAT_CONNECTING:
                wlan.connect(self._config["wifi_ssid"], self._config["wifi_password"])
            for _ in range(WIFI_ATTEMPT_MS // 100):
                if wlan.isconnected():
                    return True
                await asyncio.sleep_ms(100)
            wlan.disconnect()
        except OSError:
            try:
                wlan.disconnect()
            except OSError:
                pass
        return False

    def deep_sleep(self, sleep_ms, door_wake_level):
        self.set_heater(False)
        self.set_led(False)
        self.set_buzzer(False)
        # ext0 wakes when its one pin reaches a level: True for high (the IDF's
        # esp_sleep_enable_ext0_wakeup level 1); WAKEUP_ALL_LOW/ANY_HIGH name ext1's modes
        esp32.wake_on_ext0(self._pins["door"], door_wake_level == 1)
        self._wlan.active(False)
        machine.deepsleep(max(1, sleep_ms))
