# Stand-in for MicroPython's `ds18x20` driver (never flashed), after docs.micropython.org
# esp32/quickref.html ("convert_temp() ... wait at least 750ms before reading") and the DS18B20
# datasheet: until a conversion has run the scratchpad holds the power-on value 85.0 °C; a read
# during a conversion returns the previous result; a missing sensor raises OneWireError from
# the bus reset, like the real driver. The temperature is the script's ["temp_c", value].

import esp32world

CONVERSION_MS = 750


class DS18X20:
    def __init__(self, bus):
        self.ow = bus
        self._result = 85.0  # the DS18B20's power-on scratchpad value
        self._started = None

    def scan(self):
        return self.ow.scan()

    def convert_temp(self):
        self.ow.reset(True)
        self._finish()
        self._started = esp32world.world_ms()

    def _finish(self):
        if self._started is None:
            return
        if esp32world.world_ms() - self._started >= CONVERSION_MS:
            value = esp32world.state("temp_c")
            self._result = 21.5 if value is None else value
            self._started = None

    def read_temp(self, rom):
        self.ow.reset(True)
        self._finish()
        return self._result
