# Stand-in for MicroPython's `onewire` (never flashed), after docs.micropython.org
# esp32/quickref.html#onewire-driver: a bus with one DS18B20 that the script can take away
# (["sensor", false]); with nothing on the bus, reset(True) raises OneWireError, as the real
# driver does when no device answers the reset pulse.

import esp32world


class OneWireError(Exception):
    pass


def sensor_present():
    return esp32world.state("sensor") is not False


class OneWire:
    def __init__(self, pin):
        self.pin = pin

    def reset(self, required=False):
        present = sensor_present()
        if required and not present:
            raise OneWireError()
        return present

    def scan(self):
        return [bytearray(b"\x28\xff\x64\x1e\x0f\x00\x00\x6e")] if sensor_present() else []
