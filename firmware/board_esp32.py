# The ESP32 board: pins, ADC, DS18B20, heater relay, LED, buzzer, RTC memory, watchdog, NTP,
# Wi-Fi and deep sleep. Wiring and calibration are in firmware/README.md; pin numbers come from
# the config. Inputs are pulled up and switched to ground.

import asyncio
import gc
import time

import cabinet
import ds18x20
import esp32
import machine
import network
import ntptime
import onewire

# MicroPython on the ESP32 may count from 2000-01-01; the protocol counts from 1970
_EPOCH_OFFSET_MS = cabinet.EPOCH_2000_S * 1000 if time.gmtime(0)[0] == 2000 else 0
_RESET_CAUSES = {
    machine.PWRON_RESET: "power_on",
    machine.HARD_RESET: "hard",
    machine.WDT_RESET: "watchdog",
    machine.DEEPSLEEP_RESET: "deep_sleep",
    machine.SOFT_RESET: "soft",
}


def _input(number):
    return machine.Pin(number, machine.Pin.IN, machine.Pin.PULL_UP)


class Board:
    def __init__(self, config):
        self._config = config
        self._door = _input(config["pin_door"])
        self._aed = _input(config["pin_aed"])
        self._maint = _input(config["pin_maint"])
        self._mains = _input(config["pin_mains"])
        self._tamper = _input(config["pin_tamper"])
        self._heater = machine.Pin(config["pin_heater"], machine.Pin.OUT, value=0)
        self._led = machine.Pin(config["pin_led"], machine.Pin.OUT, value=0)
        self._buzzer = machine.Pin(config["pin_buzzer"], machine.Pin.OUT, value=0)
        self._battery = machine.ADC(machine.Pin(config["pin_battery"]))
        self._battery.atten(machine.ADC.ATTN_11DB)  # full range up to about 3.3 V
        self._sensor = ds18x20.DS18X20(onewire.OneWire(machine.Pin(config["pin_onewire"])))
        self._roms = self._sensor.scan()
        self._converting = False
        self._rtc = machine.RTC()
        self._wlan = network.WLAN(network.STA_IF)
        self._synced = False
        self._edge = asyncio.ThreadSafeFlag()
        self._door.irq(
            trigger=machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING,
            handler=lambda _pin: self._edge.set(),
        )
        self._watchdog = machine.WDT(timeout=config["wdt_ms"])

    def ticks_ms(self):
        return time.ticks_ms()

    def epoch_ms(self):
        return time.time_ns() // 1000000 + _EPOCH_OFFSET_MS

    def clock_synced(self):
        return self._synced

    def sync_clock(self):
        try:
            ntptime.host = self._config["ntp_host"]
            ntptime.settime()
            self._synced = True
        except OSError:
            pass  # keep the flag: messages say their time is not trustworthy
        return self._synced

    def read_inputs(self):
        return {
            "door": self._door.value() == 1,  # reed switch opens with the door
            "aed": self._aed.value() == 0,  # the AED's weight closes its switch
            "maint": self._maint.value() == 0,  # the technician's key closes the circuit
            "mains": self._mains.value() == 0,  # mains-detect optocoupler pulls low
            "tamper": self._tamper.value() == 1,  # tamper loop breaks open
        }

    async def wait_input(self, timeout_ms):
        # the door IRQ ends the wait at once; otherwise poll at the configured pace
        try:
            await asyncio.wait_for_ms(self._edge.wait(), timeout_ms)
        except asyncio.TimeoutError:
            pass

    def battery_uv(self):
        return self._battery.read_uv()

    def temp_dc(self):
        # a conversion takes 750 ms: read the one started last time, then start the next
        if not self._roms:
            return None
        reading = None
        if self._converting:
            try:
                reading = int(self._sensor.read_temp(self._roms[0]) * 10)
            except Exception:  # CRC or bus error: report as no reading
                reading = None
        self._sensor.convert_temp()
        self._converting = True
        return reading

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

    def feed_watchdog(self):
        self._watchdog.feed()

    def crash_count(self):
        memory = self._rtc.memory()
        return memory[0] if memory else 0

    def set_crash_count(self, count):
        self._rtc.memory(bytes([count]))

    def mark_stable(self):
        self.set_crash_count(0)

    def reset_cause(self):
        return _RESET_CAUSES.get(machine.reset_cause(), "unknown")

    async def network_up(self):
        if self._wlan.isconnected():
            return True
        self._wlan.active(True)
        self._wlan.connect(self._config["wifi_ssid"], self._config["wifi_password"])
        for _ in range(100):
            if self._wlan.isconnected():
                return True
            await asyncio.sleep_ms(100)
        return False

    def deep_sleep(self, sleep_ms, door_wake_level):
        level = esp32.WAKEUP_ANY_HIGH if door_wake_level else esp32.WAKEUP_ALL_LOW
        esp32.wake_on_ext0(self._door, level)
        self._wlan.active(False)
        machine.deepsleep(sleep_ms)
